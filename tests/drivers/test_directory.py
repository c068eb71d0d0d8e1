"""The directory driver against a real Samba AD DC (tests/servers/samba_ad.py).

One capture run (the full ``evidence_kit.capture.capture`` path: inventory YAML, profile
registry, ``env:`` secret references) covers every target below; the tests then read its
case folder: outcomes, the journal, the LDAP transcript and record, the certificate chain.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from evidence_kit.capture import capture
from evidence_kit.case.journal import check_journal, read_entries
from evidence_kit.case.outcome import Outcome
from evidence_kit.drivers.ad_tables import AD_DATA_CODES, data_code, filetime, sid_to_bytes, sid_to_str, uac_flags
from evidence_kit.drivers.tls import colon_form
from evidence_kit.errors import InventoryError
from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry, lint
from evidence_kit.profiles.directory import DirectoryProfile, normalise_group
from evidence_kit.secrets import SecretResolver
from tests.helpers import CaptureRun, assert_no_secrets, free_port
from tests.servers.samba_ad import SambaAD
from tests.servers.sshd import SilentServer

# Tests reading the capture run below: the first one pays for the session's Samba DC (about 6 s).
samba = pytest.mark.slow
WRONG_PASSWORD = "Wrong-Pa55word-for-plain!"
READ_OPS = {"connect", "starttls", "tls", "search", "bind", "whoami", "unbind", "note"}


@dataclass
class AdRun(CaptureRun):
    RECORD = "ldap-record.json"
    TRANSCRIPT = "ldap-transcript.txt"

    ad: SambaAD = field(kw_only=True)


@pytest.fixture(scope="module")
def ad_run(samba_ad: SambaAD, tmp_path_factory: pytest.TempPathFactory) -> AdRun:
    ad = samba_ad
    work = tmp_path_factory.mktemp("ad-capture")
    silent = SilentServer()
    env: dict[str, str] = {}
    rows: list[dict[str, Any]] = []

    def add(name: str, account: str, password: str | None = None, user: str | None = None, **extra: Any) -> None:
        var = f"EKT_AD_{name.upper().replace('-', '_')}"
        env[var] = password if password is not None else ad.passwords[account]
        row = {"name": name, "profile": "active_directory", "host": ad.host, "username": user or ad.upn(account),
               "password": f"env:{var}", "allow_self_signed": True}
        row.update(extra)
        rows.append(row)

    add("administrator", "Administrator")
    add("admin2-downlevel-starttls", "admin2", user=ad.downlevel("admin2"), transport="starttls")
    add("plain", "plain")
    add("plain-authenticated", "plain", expected="authenticated_users")
    add("wrong-password", "plain", password=WRONG_PASSWORD)
    add("disabled", "disabled")
    add("mustchange", "mustchange")
    add("expired", "expired")
    add("locked", "locked")
    add("mustchange-wrong", "mustchange", password=WRONG_PASSWORD)
    add("disabled-wrong", "disabled", password=WRONG_PASSWORD)
    add("expired-wrong", "expired", password=WRONG_PASSWORD)
    add("pinned-match", "admin2", certificate=colon_form(ad.leaf_sha256()), allow_self_signed=False)
    add("pinned-mismatch", "admin2", certificate="ab" * 32, allow_self_signed=False)
    add("untrusted", "admin2", allow_self_signed=False)
    add("plain-ldap", "plain", transport="ldap")
    add("dc-list", "admin2", host=None, dcs=[f"127.0.0.1:{free_port()}", f"127.0.0.1:{ad.ldaps_port}"])
    add("unreachable", "plain", port=free_port())
    add("tls-to-plain-port", "plain", port=ad.ldap_port)  # LDAPS spoken to the plain LDAP port
    add("silent", "plain", port=silent.port, timeouts={"connect": 1, "auth": 1, "command": 1})
    for row in rows:
        if row.get("host", "x") is None:
            del row["host"]
    inventory = work / "inventory.yaml"
    inventory.write_text(yaml.safe_dump({
        "case": {"client": "Contoso Ltd", "provider": "Example MSP", "technician": "Test Runner"},
        "targets": rows,
    }, sort_keys=False))
    try:
        inv = load_inventory(inventory, ProfileRegistry())
        report = capture(inv, work / "case", SecretResolver(environ=env))
    finally:
        silent.close()
    return AdRun(report, work / "case", [*ad.passwords.values(), WRONG_PASSWORD], ad=ad)


@samba
def test_no_secret_anywhere_in_the_case(ad_run: AdRun) -> None:
    assert_no_secrets(ad_run.root, ad_run.secrets)
    assert check_journal(ad_run.root / "journal.jsonl").ok


@samba
@pytest.mark.parametrize("name", ["administrator", "admin2-downlevel-starttls", "pinned-match", "dc-list"])
def test_domain_admins_log_in_ok(ad_run: AdRun, name: str) -> None:
    result = ad_run.result(name)
    assert result.outcome is Outcome.LOGIN_OK, result.detail
    assert "Domain Admins" in result.detail
    privilege = ad_run.record(name)["privilege"]
    expected = privilege["expected"][0]
    # The SID checked is the provisioned domain's (from samba-tool's own output) + RID 512.
    assert expected == {"group": "RID:512", "sid": f"{ad_run.ad.domain_sid}-512", "held": True}
    assert privilege["domain_sid"] == ad_run.ad.domain_sid
    assert "Domain Admins" in result.identity["privilege"]
    assert result.identity["certificate_sha256"] == ad_run.ad.leaf_sha256()


@samba
def test_administrator_identity_groups_and_account_facts(ad_run: AdRun) -> None:
    record = ad_run.record("administrator")
    names = {g["sid"]: g["name"] for g in record["token_groups"]}
    sid = ad_run.ad.domain_sid
    assert names[f"{sid}-512"] == "Domain Admins"
    assert names[f"{sid}-519"] == "Enterprise Admins"
    assert names[f"{sid}-518"] == "Schema Admins"
    assert names["S-1-5-32-544"] == "BUILTIN\\Administrators"
    held = {p["group"]: p["held"] for p in record["privilege"]["privileged_groups"]}
    assert held == {"RID:512": True, "RID:519": True, "RID:518": True, "S-1-5-32-544": True}
    account = record["account"]
    assert account["dn"].startswith("CN=Administrator,CN=Users,")
    assert account["objectSid"] == f"{sid}-500"
    assert account["sid_in_session_token"] is True  # the bound identity, without Who-am-I
    assert "NORMAL_ACCOUNT" in account["userAccountControl_flags"]
    assert account["pwdLastSet"]["utc"].endswith("Z")
    assert record["whoami"] is None  # Samba 4.17 does not advertise RFC 4532
    assert "not advertised" in ad_run.transcript("administrator")
    rootdse = record["rootdse"]
    assert rootdse["defaultNamingContext"] == ["DC=corp,DC=example"]
    assert rootdse["dnsHostName"][0].endswith(".corp.example")
    assert abs(record["clock_offset_seconds"]) < 5
    identity = ad_run.result("administrator").identity
    assert identity["account_sid"] == f"{sid}-500"
    assert identity["domain_sid"] == sid


@samba
def test_second_admin_is_only_domain_admin(ad_run: AdRun) -> None:
    record = ad_run.record("admin2-downlevel-starttls")
    assert record["transport"] == "starttls" and record["dc"]["port"] == 389
    held = {p["group"]: p["held"] for p in record["privilege"]["privileged_groups"]}
    assert held == {"RID:512": True, "RID:519": False, "RID:518": False, "S-1-5-32-544": True}
    assert record["account"]["sAMAccountName"] == "admin2"
    assert "starttls" in ad_run.transcript("admin2-downlevel-starttls")


@samba
def test_plain_user_is_limited(ad_run: AdRun) -> None:
    result = ad_run.result("plain")
    assert result.outcome is Outcome.LOGIN_LIMITED, result.detail
    assert "lacks Domain Admins" in result.detail
    assert result.identity["privilege"] == "none of the privileged groups"
    record = ad_run.record("plain")
    assert not any(p["held"] for p in record["privilege"]["privileged_groups"])
    names = {g["name"] for g in record["token_groups"]}
    assert {"Domain Users", "Authenticated Users"} <= names


@samba
def test_expected_override_from_inventory(ad_run: AdRun) -> None:
    result = ad_run.result("plain-authenticated")
    assert result.outcome is Outcome.LOGIN_OK, result.detail
    assert ad_run.record("plain-authenticated")["privilege"]["expected"][0]["sid"] == "S-1-5-11"


@samba
@pytest.mark.parametrize(("name", "code"), [
    ("wrong-password", "52e"), ("disabled", "533"), ("mustchange", "773"), ("expired", "701"), ("locked", "775"),
])
def test_refusals_carry_ad_data_code_in_words(ad_run: AdRun, name: str, code: str) -> None:
    result = ad_run.result(name)
    assert result.outcome is Outcome.AUTH_FAILED, result.detail
    assert f"(AD data {code})" in result.detail and AD_DATA_CODES[code] in result.detail
    bind = ad_run.record(name)["bind"]
    assert bind["ok"] is False and bind["description"] == "invalidCredentials" and bind["ad_data_code"] == code
    assert ad_run.events(name, "bind")[0]["data"]["ad_data_code"] == code
    assert "password=[not recorded]" in ad_run.transcript(name)
    assert bind["password_matched"] is (code != "52e" and code != "775")
    assert ("the password itself was accepted" in result.detail) is bind["password_matched"]


@samba
@pytest.mark.parametrize("name", ["mustchange-wrong", "disabled-wrong", "expired-wrong"])
def test_wrong_password_on_restricted_account_is_52e(ad_run: AdRun, name: str) -> None:
    # So 533 / 701 / 773 above also prove the handed-over password was the right one.
    result = ad_run.result(name)
    assert result.outcome is Outcome.AUTH_FAILED
    assert ad_run.record(name)["bind"]["ad_data_code"] == "52e"
    assert ad_run.record(name)["bind"]["password_matched"] is False


@samba
def test_certificate_chain_recorded(ad_run: AdRun) -> None:
    pem = (ad_run.folder("administrator") / "dc-certificate-chain.pem").read_text()
    leaf = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    assert leaf == ad_run.ad.leaf_sha256()  # what Samba serves, from its own cert.pem
    tls = ad_run.events("administrator", "tls")[0]["data"]
    assert tls["leaf_sha256"] == leaf and tls["verified"] is False
    assert tls["trust"]["basis"] == "allow_self_signed"
    added = [e for e in read_entries(ad_run.root / "journal.jsonl")
             if e["target"] == "administrator" and e["event"] == "artifact_added"]
    kinds = {e["data"]["kind"] for e in added}
    assert kinds == {"certificate_chain", "ldap_transcript", "ldap_record"}
    assert ad_run.record("pinned-match")["tls"]["trust"]["basis"] == "pinned"


@samba
@pytest.mark.parametrize(("name", "words"), [
    ("pinned-mismatch", "does not match the pinned"),
    ("untrusted", "allow_self_signed: true"),
])
def test_untrusted_certificate_means_no_bind(ad_run: AdRun, name: str, words: str) -> None:
    result = ad_run.result(name)
    assert result.outcome is Outcome.CERTIFICATE_MISMATCH, result.detail
    assert words in result.detail
    assert ad_run.events(name, "bind") == []
    record = ad_run.record(name)
    assert "bind" not in record and not [op for op in record["operations"] if op["op"] == "bind"]
    assert "bind NOT attempted" in ad_run.transcript(name)
    assert (ad_run.folder(name) / "dc-certificate-chain.pem").exists()  # still evidence


@samba
def test_plain_ldap_only_when_explicit_and_recorded(ad_run: AdRun) -> None:
    result = ad_run.result("plain-ldap")
    # Samba, like AD with LDAP signing required, refuses a simple bind without TLS.
    assert result.outcome is Outcome.ERROR and "strongerAuthRequired" in result.detail
    record = ad_run.record("plain-ldap")
    assert record["plain_ldap"] is True and "tls" not in record
    assert "password crosses the network in clear" in ad_run.transcript("plain-ldap")


@samba
def test_unreachable_timeout_and_tls_failure(ad_run: AdRun) -> None:
    assert ad_run.result("unreachable").outcome is Outcome.UNREACHABLE
    silent = ad_run.result("silent")
    assert silent.outcome is Outcome.TIMEOUT, silent.detail
    assert "connect" in ad_run.transcript("silent")
    no_tls = ad_run.result("tls-to-plain-port")
    assert no_tls.outcome is Outcome.ERROR and "ssl" in no_tls.detail.lower(), no_tls.detail
    assert ad_run.events("tls-to-plain-port", "bind") == []
    events = ad_run.events("dc-list", "connect_failed")
    assert len(events) == 1 and events[0]["data"]["outcome"] == "unreachable"


@samba
def test_only_read_operations(ad_run: AdRun) -> None:
    for result in ad_run.report.results:
        ops = {op["op"] for op in ad_run.record(result.name)["operations"]}
        assert ops <= READ_OPS, (result.name, ops)


@samba
def test_cli_capture_exit_codes(samba_ad: SambaAD, tmp_path: Path) -> None:
    ad = samba_ad
    env = {**os.environ, "EKT_AD_CLI_ADMIN": ad.passwords["admin2"], "EKT_AD_CLI_PLAIN": ad.passwords["plain"]}
    rows = [{"name": name, "profile": "active_directory", "host": ad.host, "username": ad.upn(account),
             "password": f"env:EKT_AD_CLI_{name.upper()}", "allow_self_signed": True}
            for name, account in (("admin", "admin2"), ("plain", "plain"))]
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump({
        "case": {"client": "Contoso Ltd", "provider": "Example MSP", "technician": "Test Runner"}, "targets": rows,
    }))
    outputs = ""
    for only, code in (("admin", 0), ("plain", 1)):
        proc = subprocess.run([sys.executable, "-m", "evidence_kit", "capture", str(inventory), "--case",
                               str(tmp_path / "case"), "--only", only], capture_output=True, text=True, env=env,
                              timeout=120)
        assert proc.returncode == code, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
        outputs += proc.stdout + proc.stderr
    assert "login_ok" in outputs and "login_limited" in outputs
    secrets = [ad.passwords["admin2"], ad.passwords["plain"]]
    assert not any(s in outputs for s in secrets)
    assert_no_secrets(tmp_path / "case", secrets)


# --- without a server ------------------------------------------------------------------------


def test_profile_lints_and_loads() -> None:
    [res] = lint([Path(__file__).parents[2] / "evidence_kit" / "profiles" / "builtin" / "active_directory.yaml"])
    assert res.ok, res.message
    profile = ProfileRegistry().get("active_directory").profile
    assert isinstance(profile, DirectoryProfile)
    assert profile.transport == "ldaps" and profile.expected == ["RID:512"]


def test_group_references() -> None:
    assert normalise_group("Domain_Admins") == "RID:512"
    assert normalise_group("rid:1104") == "RID:1104"
    assert normalise_group("s-1-5-32-544") == "S-1-5-32-544"
    with pytest.raises(ValueError, match="unknown group"):
        normalise_group("Domain Admins")


def test_decoders() -> None:
    sid = "S-1-5-21-670302808-625044497-4260288813-512"
    assert sid_to_str(sid_to_bytes(sid)) == sid
    assert data_code("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v4563") == "775"
    assert data_code("no code here") is None
    assert filetime(0) is None and filetime(0x7FFFFFFFFFFFFFFF) is None
    assert filetime(116444736000000000) == "1970-01-01T00:00:00Z"
    assert uac_flags(0x10202) == ["ACCOUNTDISABLE", "NORMAL_ACCOUNT", "DONT_EXPIRE_PASSWORD"]


def test_bad_transport_is_an_inventory_error(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(yaml.safe_dump({
        "case": {"client": "C", "provider": "P", "technician": "T"},
        "targets": [{"name": "dc", "profile": "active_directory", "host": "127.0.0.1",
                     "username": "a@b.example", "password": "env:X", "transport": "ldap-signing"}],
    }))
    with pytest.raises(InventoryError, match="target 'dc' field 'transport'"):
        load_inventory(path, ProfileRegistry())
