"""The Windows kinds (rdp, smb): built-in profiles, the account forms, and the documented example
inventory (one domain admin proven by the directory, SMB and RDP) loading as it stands."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry, builtin_dir, json_schema, kinds, lint
from evidence_kit.profiles._windows import parse_account
from evidence_kit.profiles.rdp import RdpProfile, RdpTarget
from evidence_kit.profiles.smb import SmbProfile, SmbTarget

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "windows-domain-admin.yaml"


def test_builtin_windows_profiles_lint_and_defaults() -> None:
    results = lint([builtin_dir() / "windows_rdp.yaml", builtin_dir() / "windows_smb.yaml"])
    assert all(r.ok for r in results), [r.message for r in results]
    registry = ProfileRegistry(use_env=False)
    rdp = registry.get("windows_rdp").profile
    smb = registry.get("windows_smb").profile
    assert isinstance(rdp, RdpProfile) and isinstance(smb, SmbProfile)
    assert (rdp.security, rdp.allow_session_takeover, rdp.port, rdp.screenshots) == \
        ("auto", False, 3389, ("desktop", "failure"))
    assert smb.tried_shares() == ("IPC$", "ADMIN$", "C$") and smb.expected == "admin"
    assert {"rdp", "smb"} <= set(kinds())
    titles = {v["$ref"].rsplit("/", 1)[1] for v in json_schema()["oneOf"]}
    assert {"RdpProfile", "SmbProfile"} <= titles


@pytest.mark.parametrize(("username", "domain", "shown", "form"), [
    ("CORP\\admin", None, "CORP\\admin", "downlevel"),
    ("admin", "CORP", "CORP\\admin", "downlevel"),
    ("admin", "corp.example", "corp.example\\admin", "downlevel"),
    ("admin@corp.example", None, "admin@corp.example", "upn"),
    ("Administrator", None, "Administrator", "local"),
])
def test_account_forms(username: str, domain: str | None, shown: str, form: str) -> None:
    account = parse_account(username, domain)
    assert (account.display, account.form) == (shown, form)


@pytest.mark.parametrize(("username", "domain", "problem"), [
    ("CORP\\admin", "CORP", "names its domain already"),
    ("admin@corp.example", "CORP", "is a UPN"),
    ("\\admin", None, "is not a domain name"),
    ("CORP\\", None, "user name is empty"),
    ("admin@", None, "not a user principal name"),
    ("ad min", None, "character Windows refuses"),
    ("", None, "empty"),
])
def test_bad_accounts_say_why(username: str, domain: str | None, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_account(username, domain)


def test_the_example_inventory_loads_one_account_three_ways() -> None:
    inventory = load_inventory(EXAMPLE, ProfileRegistry(use_env=False))
    targets = {t.name: t for t in inventory.targets}
    assert [inventory.profile_of(t).kind for t in inventory.targets] == ["directory", "smb", "rdp"]
    smb, rdp = targets["fs1-admin-share"], targets["fs1-desktop"]
    assert isinstance(smb, SmbTarget) and isinstance(rdp, RdpTarget)
    assert smb.account().display == rdp.account().display == "CORP\\admin"
    assert targets["corp-directory"].username == "admin@corp.example"
    refs = {str(t.secret_refs()["password"]) for t in inventory.targets}
    assert refs == {"keepass:AD/Domain admin"}  # one credential, proven three ways
    assert rdp.certificate and not rdp.allow_self_signed  # the example pins the RDP certificate
