"""evidence-kit handover end to end: a case captured from the demo SSH device, handed over to a
new provider's OpenSSH key, opened with age and keepassxc-cli, checked with verify."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pyotp
import pytest

from evidence_kit.case.journal import check_journal, read_entries
from evidence_kit.handover import package
from evidence_kit.redact import scan_bytes
from evidence_kit.seal import keys
from tests.handover.conftest import TOTP_SEED, Handed, World, copy_world, keepassxc, make_world, unpack
from tests.helpers import assert_no_secrets
from tests.seal.helpers import run_cli
from tests.servers.tsa import TSA


def _journal(case: Path, event: str) -> list[dict]:
    return [e for e in read_entries(case / "journal.jsonl") if e["event"] == event]


def test_the_folder_holds_archive_package_letter_and_signed_transmittal(handed: Handed) -> None:
    names = sorted(p.name for p in handed.out.iterdir())
    case_id = handed.archive.name.removesuffix(".age")
    assert names == sorted([f"{case_id}.age", f"{case_id}.age.receipt.json", f"{case_id}-credentials.age",
                            "transmittal.html", "transmittal.pdf", "transmittal.json", "transmittal.json.sig",
                            "transmittal.json.sig.tsr", "signer-public.pem"])
    body = json.loads((handed.out / "transmittal.json").read_text())
    roles = {(r["name"], r["role"]) for r in body["recipients"]}
    assert roles == {("Contoso Ltd", "client"), ("New Provider", "authorized recipient")}
    ssh = next(r for r in body["recipients"] if r["kind"] == "ssh-ed25519")
    pub = handed.world.newprov_ssh.with_suffix(".pub")
    shown = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True, check=True).stdout
    assert ssh["fingerprint"] == shown.split()[1]  # the fingerprint ssh-keygen prints
    digest = lambda p: __import__("hashlib").sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert body["evidence"]["sha256"] == digest(handed.archive)
    assert body["credential_package"]["sha256"] == digest(handed.package)
    assert body["authorization"]["sha256"] == digest(handed.world.case.parent / "authorization-letter.txt")
    assert {f["file"] for f in body["letter"]} == {"transmittal.html", "transmittal.pdf"}
    items = {i["target"]: i for i in body["items"]}
    assert items["core-router"]["outcome"] == "login_ok" and items["old-switch"]["outcome"] == "auth_failed"
    assert all(i["delivered_equals_tested"] for i in items.values())
    # The letter, as the PDF a person reads
    text = subprocess.run(["pdftotext", str(handed.out / "transmittal.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    for words in ("Transmittal of credentials", "Contoso Ltd", "New Provider", "core-router", "old-switch",
                  body["evidence"]["sha256"][:32]):
        assert words in re.sub(r"\s+", " ", text), words


def test_client_and_new_provider_open_both_with_standard_tools(handed: Handed, tmp_path: Path) -> None:
    w = handed.world
    for who, identity in (("client", w.client.identity), ("new provider", w.newprov_ssh)):
        got = subprocess.run(["age", "-d", "-i", str(identity), str(handed.archive)], capture_output=True)
        assert got.returncode == 0 and got.stdout, who
        folder = unpack(handed.package, identity, tmp_path / who)
        assert sorted(p.name for p in folder.iterdir()) == ["README.txt", "credentials.kdbx", "passphrase.txt"]
    db = str(folder / "credentials.kdbx")
    assert keepassxc(folder, "ls", db).split() == ["core-router", "old-switch"]
    shown = keepassxc(folder, "show", "-s", db, "core-router")
    assert f"UserName: {w.device.username}" in shown and f"Password: {w.device.password}" in shown
    assert f"URL: 127.0.0.1:{w.device.port}" in shown
    assert "outcome at handover: login_ok" in shown and "profile: cisco_ios" in shown
    assert handed.archive.name in shown and json.loads((handed.out / "transmittal.json").read_text())[
        "evidence"]["sha256"] in shown
    commitments = {(e["target"], e["data"]["field"]): e["data"]["commitment"]
                   for e in _journal(w.case, "credential_commitment")}
    for field in ("password", "enable_secret", "totp", "snmp_community"):
        assert f"{field}: {commitments[('core-router', field)]}" in shown
    assert keepassxc(folder, "show", "-a", "enable_secret", db, "core-router").strip() == w.device.enable_secret
    assert keepassxc(folder, "show", "-a", "snmp_community", db, "core-router").strip() == w.env["EKH_SNMP"]
    assert keepassxc(folder, "show", "-a", "evidence-kit.commitment.password", db, "core-router").strip() == \
        commitments[("core-router", "password")]
    otp = keepassxc(folder, "show", "-a", "otp", db, "core-router").strip()
    assert otp.startswith("otpauth://totp/") and f"secret={TOTP_SEED}" in otp
    code = keepassxc(folder, "show", "--totp", db, "core-router").strip()
    totp = pyotp.TOTP(TOTP_SEED)
    assert code in {totp.at(time.time() + d) for d in (-30, 0, 30)}
    wrong = keepassxc(folder, "show", "-s", db, "old-switch")
    assert "outcome at handover: auth_failed" in wrong


def test_verify_against_package_says_delivered_equals_tested(handed: Handed) -> None:
    w = handed.world
    args = ["verify", handed.archive, "-i", w.newprov_ssh, "--against-package", handed.package,
            "--trust-key", w.provider.signing_public]
    result = run_cli([*args])
    assert result.exit_code == 0, result.output
    out = result.output
    assert re.search(r"PASS\s+credential core-router\s+the credential delivered for core-router \(password, "
                     r"totp, enable_secret, snmp_community\) is the one that worked at 20\d\d-", out), out
    assert re.search(r"PASS\s+credential old-switch .*is the one tested \(outcome auth_failed\)", out)
    assert re.search(r"PASS\s+transmittal\s+.*names this archive and package", out)
    assert "2 of 2 delivered credential(s) are the ones tested" in out
    assert not scan_bytes(result.output.encode(), w.secrets)
    as_json = json.loads(run_cli([*args, "--json"]).stdout)
    assert {c["check"] for c in as_json["checks"]} >= {"credential core-router", "credential old-switch", "package"}


def test_verify_names_each_credential_that_differs(handed: Handed, tmp_path: Path) -> None:
    """A package whose core-router password is another one: named, never shown, exit 1."""
    from evidence_kit.handover.model import Credential, FieldCheck
    from evidence_kit.secrets import Secret

    w = handed.world
    forged = tmp_path / "forged-credentials.age"
    other = "Not-The-Tested-One-1"
    cred = Credential("core-router", "ssh", "cisco_ios", "x", "netadmin", None, {"password": Secret(other, "t")},
                      [FieldCheck("password", None, None)])
    ctx = package.PackageContext(handed.archive.name.removesuffix(".age"), "Contoso Ltd", handed.archive.name,
                                 "0" * 64, "scrypt+hmac-sha256")
    package.write_package(forged, [cred], ctx, keys.load_recipients([w.client.recipient]))
    result = run_cli(["verify", handed.archive, "-i", w.client.identity, "--against-package", forged,
                      "--transmittal", handed.out / "transmittal.json"])
    assert result.exit_code == 1
    assert re.search(r"FAIL\s+credential core-router\s+password delivered for core-router is NOT the one tested; "
                     r"totp, enable_secret, snmp_community tested but not delivered", result.output), result.output
    assert re.search(r"FAIL\s+transmittal\s+.*names another credential package", result.output)
    assert "VERIFICATION FAILED" in result.output
    assert not scan_bytes(result.output.encode(), [other, *w.secrets])


def test_the_journal_records_the_handover_after_the_sealed_head(handed: Handed, tmp_path: Path, tsa: TSA) -> None:
    w = handed.world
    journal = w.case / "journal.jsonl"
    assert check_journal(journal).ok
    (entry,) = _journal(w.case, "handover")
    body = json.loads((handed.out / "transmittal.json").read_text())
    assert entry["seq"] == body["evidence"]["journal_entries"] + 1  # right after the head the archive sealed
    assert entry["prev"] == body["evidence"]["journal_head"]
    data = entry["data"]
    assert data["transmittal_id"] == body["transmittal_id"]
    assert {(r["name"], r["fingerprint"]) for r in data["recipients"]} == {
        (r["name"], r["fingerprint"]) for r in body["recipients"]}
    on_disk = {p.name: __import__("hashlib").sha256(p.read_bytes()).hexdigest() for p in handed.out.iterdir()}
    assert {f["name"]: f["sha256"] for f in data["files"]} == on_disk
    assert data["transmittal_sha256"] == on_disk["transmittal.json"]
    assert entry["run"] == max(e["run"] for e in read_entries(journal) if e["event"] == "run_started")
    # A later seal carries the handover entry.
    again = tmp_path / "again.age"
    assert run_cli(["seal", w.case, "--sign-key", w.provider.signing_key, "-o", again]).exit_code == 0
    ok = run_cli(["extract", again, "-o", tmp_path / "x", "-i", w.client.identity])
    assert ok.exit_code == 0, ok.output
    (sealed_journal,) = (tmp_path / "x").rglob("journal.jsonl")
    assert [e["event"] for e in read_entries(sealed_journal)][-1] == "handover"


def test_refused_without_the_clients_written_authorization(device, tmp_path: Path) -> None:
    w = make_world(tmp_path / "noauth", device, authorization=False)
    out = tmp_path / "out"
    result = run_cli(w.handover_args(w.case, out, "--no-pdf"), env=w.env)
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "holds no written authorization from the client" in result.stderr
    assert not out.exists() and not _journal(w.case, "handover")
    assert not list(tmp_path.glob(".out.partial-*"))


def test_a_changed_credential_is_refused_or_delivered_marked(mine: World, tmp_path: Path) -> None:
    w = mine
    env = {**w.env, "EKH_PW": w.env["EKH_PW"] + "-rotated"}
    out = tmp_path / "out"
    refused = run_cli(w.handover_args(w.case, out, "--no-pdf"), env=env)
    assert refused.exit_code == 2
    line = refused.stderr.strip()
    assert "\n" not in line and "target 'core-router' password: changed since it was tested" in line
    assert "--include-unmatched" in line and not out.exists()
    assert not scan_bytes(refused.output.encode(), [env["EKH_PW"], *w.secrets])

    marked = run_cli(w.handover_args(w.case, out, "--no-pdf", "--include-unmatched"), env=env)
    assert marked.exit_code == 1, marked.output  # done, but not everything is as tested
    assert "NOT AS TESTED: password: changed since it was tested" in marked.stdout
    body = json.loads((out / "transmittal.json").read_text())
    item = next(i for i in body["items"] if i["target"] == "core-router")
    assert item["delivered_equals_tested"] is False
    assert [f["matches_tested"] for f in item["fields"] if f["field"] == "password"] == [False]
    assert "NOT as tested" in (out / "transmittal.html").read_text()
    folder = unpack(next(out.glob("*-credentials.age")), w.client.identity, tmp_path / "pkg")
    notes = keepassxc(folder, "show", "-s", str(folder / "credentials.kdbx"), "core-router")
    assert "delivered equals tested: NO - password: changed since it was tested" in notes
    archive = next(p for p in out.glob("*.age") if not p.name.endswith("-credentials.age"))
    checked = run_cli(["verify", archive, "-i", w.client.identity, "--against-package",
                       next(out.glob("*-credentials.age"))])
    assert checked.exit_code == 1
    assert re.search(r"FAIL\s+credential core-router\s+password delivered for core-router is NOT", checked.output)
    assert re.search(r"PASS\s+credential old-switch", checked.output)


def test_another_inventory_is_refused_unless_told(mine: World, tmp_path: Path) -> None:
    w = mine
    w.inventory.write_text(w.inventory.read_text() + "# edited after the capture\n")
    refused = run_cli(w.handover_args(w.case, tmp_path / "a", "--no-pdf"), env=w.env)
    assert refused.exit_code == 2 and "changed since the case was captured from it" in refused.stderr
    other = tmp_path / "other.yaml"
    other.write_text(w.inventory.read_text())
    given = run_cli(w.handover_args(w.case, tmp_path / "b", "--no-pdf", "--inventory", other), env=w.env)
    assert given.exit_code == 2 and "not the inventory the case was captured from" in given.stderr
    allowed = run_cli(w.handover_args(w.case, tmp_path / "c", "--no-pdf", "--inventory", other,
                                      "--allow-changed-inventory"), env=w.env)
    assert allowed.exit_code == 0, allowed.output


@pytest.mark.parametrize("to, problem", [
    ("Someone=age1qqqq", "not a valid age recipient"),
    ("just-a-recipient-without-a-name", "give NAME=RECIPIENT"),
    ("=age1abc", "give NAME=RECIPIENT"),
])
def test_every_recipient_is_named_and_valid(mine: World, tmp_path: Path, to: str, problem: str) -> None:
    result = run_cli(["handover", mine.case, "--to", to, "--sign-key", mine.provider.signing_key, "-o",
                      tmp_path / "out", "--no-pdf"], env=mine.env)
    assert result.exit_code == 2 and problem in result.stderr, result.output
    assert not (tmp_path / "out").exists()


def test_a_failing_tsa_leaves_no_handover(mine: World, tmp_path: Path) -> None:
    from tests.helpers import free_port

    out = tmp_path / "out"
    result = run_cli(mine.handover_args(mine.case, out, "--no-pdf", "--tsa", f"http://127.0.0.1:{free_port()}/"),
                     env=mine.env)
    assert result.exit_code == 2 and "nothing was sealed" in result.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.partial-*"))
    assert not _journal(mine.case, "handover") and check_journal(mine.case / "journal.jsonl").ok


def test_no_secret_outside_the_encrypted_package(handed: Handed, tmp_path: Path) -> None:
    w = handed.world
    folder = unpack(handed.package, w.client.identity, tmp_path / "pkg")
    passphrase = (folder / "passphrase.txt").read_text().strip()
    secrets = [*w.secrets, passphrase]
    scanned = tmp_path / "scan"
    scanned.mkdir()
    for p in handed.out.iterdir():
        if p != handed.package:  # the one file that holds them, encrypted
            (scanned / p.name).write_bytes(p.read_bytes())
    assert_no_secrets(scanned, secrets)
    assert_no_secrets(w.case, secrets)
    assert not scan_bytes((handed.stdout + handed.stderr).encode(), secrets)
    # Even the encrypted package shows none of them in its bytes.
    assert not scan_bytes(handed.package.read_bytes(), secrets)
    # The archive, decrypted, holds no secret either (it is the evidence).
    x = tmp_path / "x"
    assert run_cli(["extract", handed.archive, "-o", x, "-i", w.client.identity]).exit_code == 0
    assert_no_secrets(x, secrets)


def test_a_second_handover_goes_into_a_new_folder(handed: Handed, tmp_path: Path) -> None:
    w = copy_world(handed.world, tmp_path / "w")
    result = run_cli(w.handover_args(w.case, handed.out, "--no-pdf"), env=w.env)
    assert result.exit_code == 2 and "exists and is not an empty folder" in result.stderr
