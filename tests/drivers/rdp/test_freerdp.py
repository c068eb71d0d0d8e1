"""RDP logons with xfreerdp against real xrdp (TLS) and freerdp-shadow (NLA) servers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from evidence_kit.drivers.rdp.freerdp import RdpLogonRequest, RdpLogonResult, command, logon
from evidence_kit.drivers.rdp.negotiate import probe
from tests.helpers import assert_no_secrets

WIDTH, HEIGHT = 1024, 768


def _request(target, username: str, security: str, cert: str, **kw) -> RdpLogonRequest:
    kw.setdefault("logon_timeout", 40)
    return RdpLogonRequest(target.host, target.port, username, security, cert, width=WIDTH, height=HEIGHT, **kw)


def _keep(result: RdpLogonResult, folder: Path) -> Path:
    """Write everything the result carries next to the work folder, for the secret scan."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "freerdp.log").write_bytes(result.freerdp_log)
    (folder / "console.log").write_bytes(result.console)
    (folder / "result.txt").write_text(repr(result) + "\n" + " ".join(result.command))
    for shot in result.screenshots:
        (folder / f"{shot.label}.png").write_bytes(shot.png)
    return folder


def _dominant(result: RdpLogonResult, label: str) -> tuple[float, tuple[int, int, int]]:
    shot = next(s for s in result.screenshots if s.label == label)
    return shot.colours[0]


def test_xrdp_right_password_shows_the_desktop(xrdp_server, tmp_path) -> None:
    admin = xrdp_server.account("admin")
    seen = probe(xrdp_server.host, xrdp_server.port)
    mark = xrdp_server.log_mark()
    result = logon(_request(xrdp_server, admin.username, seen.security, seen.tls.leaf_sha256, record=True),
                   admin.password, tmp_path / "run")
    assert result.outcome == "login_ok", result.reason
    assert "clipboard_ready" in result.signals  # xrdp's chansrv runs only inside a user session
    share, rgb = _dominant(result, "desktop")
    assert rgb == admin.rgb and share > 0.6  # the user's desktop colour, not black or half-painted
    shot = result.screenshots[0]
    shares = dict((c, s) for s, c in shot.colours)
    assert shares.get((255, 255, 255), 0) > 0.05  # the xterm with the known text is on it
    assert (shot.width, shot.height) == (WIDTH, HEIGHT) and shot.png.startswith(b"\x89PNG")
    assert result.recording is not None and result.recording.read_bytes()[4:8] == b"ftyp"
    assert result.timings["painted"] > 0
    server = xrdp_server.log_since(mark)
    assert f"username {admin.username}" in server and "AUTHFAIL" not in server
    assert admin.password not in " ".join(result.command)
    assert_no_secrets(tmp_path, xrdp_server.secrets())
    _keep(result, tmp_path / "kept")
    assert_no_secrets(tmp_path, xrdp_server.secrets())


def test_xrdp_wrong_password_is_auth_failed(xrdp_server, tmp_path) -> None:
    plain = xrdp_server.account("plain")
    seen = probe(xrdp_server.host, xrdp_server.port)
    mark = xrdp_server.log_mark()
    wrong = "Wrong-" + plain.password[::-1]
    result = logon(_request(xrdp_server, plain.username, seen.security, seen.tls.leaf_sha256), wrong, tmp_path / "run")
    assert result.outcome == "auth_failed", result.reason
    assert "logon screen" in result.reason and result.signals == ("server_logon_screen",)
    assert [s.label for s in result.screenshots] == ["final"]  # what the server showed, kept as evidence
    assert f"AUTHFAIL: user={plain.username}" in xrdp_server.log_since(mark)  # the server agrees
    _keep(result, tmp_path / "kept")
    assert_no_secrets(tmp_path, [*xrdp_server.secrets(), wrong])


def test_shadow_nla_right_password_domain_user(rdp_shadow, tmp_path) -> None:
    admin = rdp_shadow.account("admin")
    seen = probe(rdp_shadow.host, rdp_shadow.port)
    result = logon(_request(rdp_shadow, f"{admin.domain}\\{admin.username}", seen.security, seen.tls.leaf_sha256),
                   admin.password, tmp_path / "run")
    assert result.outcome == "login_ok", result.reason
    assert result.signals[0] == "nla_authenticated" and result.security == "nla"
    share, rgb = _dominant(result, "desktop")
    assert rgb == admin.rgb and share > 0.9
    _keep(result, tmp_path / "kept")
    assert_no_secrets(tmp_path, rdp_shadow.secrets())


def test_shadow_nla_wrong_password(rdp_shadow, tmp_path) -> None:
    plain = rdp_shadow.account("plain")
    seen = probe(rdp_shadow.host, rdp_shadow.port)
    wrong = "Wrong-" + plain.password[::-1]
    result = logon(_request(rdp_shadow, plain.username, seen.security, seen.tls.leaf_sha256), wrong, tmp_path / "run")
    assert result.outcome == "auth_failed", result.reason
    assert "NLA" in result.reason and not result.screenshots
    _keep(result, tmp_path / "kept")
    assert_no_secrets(tmp_path, [*rdp_shadow.secrets(), wrong])


@pytest.mark.parametrize("server", ["xrdp_server", "rdp_shadow"])
def test_other_certificate_than_accepted_sends_nothing(server, request, tmp_path) -> None:
    """xfreerdp itself refuses a certificate other than the one judged: no user name, no password."""
    target = request.getfixturevalue(server)
    account = target.account("plain")
    seen = probe(target.host, target.port)
    mark = target.log_mark()
    result = logon(_request(target, account.username, seen.security, "ab" * 32), account.password, tmp_path / "run")
    assert result.outcome == "certificate_mismatch", result.reason
    time.sleep(0.5)
    server_log = target.log_since(mark)
    assert account.username not in server_log
    assert "AcceptSecurityContext" not in server_log and "sending login info" not in server_log
    _keep(result, tmp_path / "kept")
    assert_no_secrets(tmp_path, target.secrets())


def test_closed_port_is_unreachable(xrdp_server, tmp_path) -> None:
    req = RdpLogonRequest("127.0.0.1", xrdp_server.closed_port, "nobody", "tls", "ab" * 32, width=WIDTH, height=HEIGHT)
    result = logon(req, "irrelevant-pw-1", tmp_path)
    assert result.outcome == "unreachable", result.reason


def test_silent_port_times_out(xrdp_server, tmp_path) -> None:
    req = RdpLogonRequest("127.0.0.1", xrdp_server.silent_port, "nobody", "tls", "ab" * 32, width=WIDTH,
                          height=HEIGHT, connect_timeout=3, logon_timeout=10)
    t0 = time.monotonic()
    result = logon(req, "irrelevant-pw-1", tmp_path)
    assert result.outcome == "timeout", result.reason
    assert time.monotonic() - t0 < 25  # the timeouts given are honoured (not a speed check)


def test_command_line_holds_no_secret_and_pins_the_certificate() -> None:
    req = RdpLogonRequest("10.0.0.5", 3389, "CORP\\admin", "nla", "AB:" * 31 + "AB")
    argv = command(req, "evidence-kit-x")
    assert "/from-stdin:force" in argv and "/sec:nla" in argv
    assert f"/cert:deny,fingerprint:sha256:{'ab:' * 31}ab" in argv
    assert not any(a.startswith(("/p:", "/pth:", "/cert:ignore", "/cert:tofu", "/admin", "/drive", "+drives"))
                   for a in argv)
