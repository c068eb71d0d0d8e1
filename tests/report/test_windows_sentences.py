"""Timeline rows of RDP and SMB targets read in words: every event those drivers journal has its
own sentence, and the sentences of a real SMB capture say what happened."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import evidence_kit
from evidence_kit.capture import RunOptions, capture
from evidence_kit.case.journal import read_entries
from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry
from evidence_kit.report.sentences import SENTENCES, sentence
from evidence_kit.secrets import SecretResolver

PACKAGE = Path(evidence_kit.__file__).parent
WRITES = re.compile(r"""(?:\.event|\bjournal|journal\.append)\(\s*(?:[\w.]+\s*,\s*)?["']([a-z][a-z0-9_]*)["']""")
EVENTS = {"negotiate": "smb_negotiate", "ntlm_challenge": "smb_server", "session_setup": "smb_session",
          "tree_connect": "smb_tree_connect", "logoff": "smb_logoff"}


def test_every_rdp_and_smb_event_has_a_sentence() -> None:
    found: set[str] = set()
    # The tls event is journaled for the RDP driver by drivers/tls.py (judge_and_record).
    for path in [*PACKAGE.glob("drivers/rdp/*.py"), *PACKAGE.glob("drivers/smb/*.py"), PACKAGE / "drivers/tls.py"]:
        found |= set(WRITES.findall(path.read_text(encoding="utf-8")))
    from evidence_kit.drivers.smb.driver import EVENTS as SMB_EVENTS  # journaled through a table

    found |= set(SMB_EVENTS.values())
    assert {"rdp_negotiation", "rdp_logon", "tls", "smb_tree_connect"} <= found
    assert sorted(found - set(SENTENCES)) == []


@pytest.mark.parametrize(("event", "data", "expected"), [
    ("rdp_negotiation", {"host": "fs1", "port": 3389, "ok": True, "security": "nla", "requested": "nla"},
     "RDP negotiation with fs1:3389: the server chose NLA (CredSSP) (offered: nla); no user name or password sent yet"),
    ("rdp_negotiation", {"host": "fs1", "port": 3389, "ok": False, "failure": "refused",
                         "error": "HYBRID_REQUIRED_BY_SERVER"},
     "RDP negotiation with fs1:3389 failed (refused): HYBRID_REQUIRED_BY_SERVER"),
    ("rdp_logon", {"outcome": "auth_failed", "security": "tls", "reason": "the server kept its logon screen up",
                   "signals": ["server_logon_screen"]},
     "RDP logon over TLS without NLA ended auth_failed: the server kept its logon screen up "
     "(signs: server_logon_screen)"),
])
def test_rdp_sentences(event: str, data: dict, expected: str) -> None:
    assert sentence(event, data) == expected


def test_a_real_smb_capture_reads_in_words(smbd_server, tmp_path: Path) -> None:
    admin = smbd_server.account("admin")
    (tmp_path / "inventory.yaml").write_text(yaml.safe_dump({
        "case": {"client": "C", "provider": "P", "technician": "T"},
        "targets": [{"name": "fs", "profile": "windows_smb", "host": smbd_server.host, "port": smbd_server.port,
                     "username": admin.username, "domain": smbd_server.workgroup, "password": "env:EKT_SMB_S"}]}))
    inv = load_inventory(tmp_path / "inventory.yaml", ProfileRegistry(use_env=False))
    capture(inv, tmp_path / "case", SecretResolver(environ={"EKT_SMB_S": admin.password}), RunOptions(concurrency=1))
    rows = {e["event"]: sentence(e["event"], e["data"]) for e in read_entries(tmp_path / "case" / "journal.jsonl")
            if e["event"] in EVENTS.values() and e["event"] != "smb_tree_connect"}
    shares = [sentence(e["event"], e["data"]) for e in read_entries(tmp_path / "case" / "journal.jsonl")
              if e["event"] == "smb_tree_connect"]
    assert rows["smb_negotiate"].startswith(f"SMB with {smbd_server.host}:{smbd_server.port} (dialect 3.1.1, ")
    assert rows["smb_server"].startswith("the server names itself ") and "before any credential" in rows["smb_server"]
    account = f"{smbd_server.workgroup}\\{admin.username}"
    assert rows["smb_session"] == f"the server accepted the SMB logon of {account} (signed)"
    assert shares == ["opened the share IPC$", "opened the share ADMIN$", "opened the share C$"]
    assert rows["smb_logoff"] == "logged off the SMB session"
