"""The SMB admin-share proof against a real standalone smbd: admin, plain, wrong, disabled, no server."""

from __future__ import annotations

import json
import logging

import pytest

from evidence_kit.drivers.smb.probe import ntlm_negotiate, parse_challenge, prove
from tests.helpers import assert_no_secrets

SHARES = ("IPC$", "ADMIN$", "C$", "users")


def test_admin_opens_the_admin_shares(smbd_server, tmp_path, caplog) -> None:
    admin = smbd_server.account("admin")
    with caplog.at_level(logging.DEBUG):  # smbprotocol's DEBUG log: message structures
        proof = prove(smbd_server.host, admin.username, admin.password, port=smbd_server.port,
                      domain=smbd_server.workgroup, shares=SHARES)
    assert proof.outcome == "login_ok", proof.reason
    assert proof.admin_share == "ADMIN$"
    assert [s.share for s in proof.shares if s.ok] == list(SHARES)
    assert proof.username == f"{smbd_server.workgroup}\\{admin.username}"
    assert proof.dialect == "3.1.1" and proof.session_signed is True
    assert proof.server is not None and proof.server.netbios_computer == smbd_server.netbios_name
    assert proof.server.server_time.endswith("Z")
    (tmp_path / "debug.log").write_text("\n".join(r.getMessage() for r in caplog.records))
    (tmp_path / "proof.json").write_text(json.dumps(proof.record(), default=str))
    assert len(caplog.records) > 10
    assert_no_secrets(tmp_path, smbd_server.secrets())


def test_plain_user_is_limited(smbd_server, tmp_path) -> None:
    plain = smbd_server.account("plain")
    proof = prove(smbd_server.host, plain.username, plain.password, port=smbd_server.port, shares=SHARES)
    assert proof.outcome == "login_limited", proof.reason
    by_share = {s.share: s for s in proof.shares}
    assert by_share["IPC$"].ok and by_share["users"].ok
    assert by_share["ADMIN$"].status == "STATUS_ACCESS_DENIED" and by_share["C$"].status == "STATUS_ACCESS_DENIED"
    assert "no administrative share" in proof.reason


@pytest.mark.parametrize(("role", "wrong", "status"), [
    ("plain", True, "STATUS_LOGON_FAILURE"),
    ("disabled", False, "STATUS_ACCOUNT_DISABLED"),
])
def test_refused_logons_say_why(smbd_server, tmp_path, caplog, role, wrong, status) -> None:
    account = smbd_server.account(role)
    password = ("Wrong-" + account.password[::-1]) if wrong else account.password
    with caplog.at_level(logging.DEBUG):
        proof = prove(smbd_server.host, account.username, password, port=smbd_server.port, shares=SHARES)
    assert proof.outcome == "auth_failed" and proof.auth_status == status, proof.reason
    assert not proof.shares and proof.dialect  # the server's facts are still recorded
    (tmp_path / "debug.log").write_text("\n".join(r.getMessage() for r in caplog.records))
    (tmp_path / "proof.json").write_text(json.dumps(proof.record(), default=str))
    assert_no_secrets(tmp_path, [*smbd_server.secrets(), password])


def test_upn_form_is_sent_as_given(smbd_server) -> None:
    admin = smbd_server.account("admin")
    proof = prove(smbd_server.host, f"{admin.username}@{smbd_server.workgroup.lower()}", admin.password,
                  port=smbd_server.port, shares=("ADMIN$",))
    assert proof.username.endswith(f"@{smbd_server.workgroup.lower()}")
    # NTLM carries a UPN as the user name with an empty domain; a standalone Samba server has no UPNs
    # and refuses it (an AD domain member resolves it): what matters here is that it is sent as given.
    assert proof.outcome == "auth_failed" and proof.auth_status == "STATUS_LOGON_FAILURE"


def test_no_server(smbd_server) -> None:
    assert prove("127.0.0.1", "x", "irrelevant-pw-1", port=smbd_server.closed_port).outcome == "unreachable"
    silent = prove("127.0.0.1", "x", "irrelevant-pw-1", port=smbd_server.silent_port, timeout=2)
    assert silent.outcome == "timeout", silent.reason


def test_challenge_parsing_round_trip() -> None:
    assert ntlm_negotiate().startswith(b"NTLMSSP\x00\x01\x00\x00\x00")
    with pytest.raises(ValueError):
        parse_challenge(b"NTLMSSP\x00\x01\x00\x00\x00" + b"\x00" * 40)
