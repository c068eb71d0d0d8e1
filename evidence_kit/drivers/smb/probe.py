"""SMB admin-share proof: an SMB2/3 session with NTLM, then tree connects to IPC$, ADMIN$ and C$.

Opening ``ADMIN$`` or ``C$`` is what only a local administrator of the server (on a domain
member: a Domain Admin, by default) can do, so it proves administrative rights without
changing anything: a tree connect reads no file and writes none. The proof also records what
the server says about itself before authentication -- dialect, signing and encryption, and
the NTLM challenge's target information (NetBIOS and DNS names of the server and its domain,
the server's clock) -- which identifies the machine the credential worked on.

Built on smbprotocol (pure Python, maintained; NTLM through pyspnego). The password goes to
pyspnego only; smbprotocol's own DEBUG log shows message structures, never the password (the
NTLMv2 response is a keyed hash), as the tests check by scanning a DEBUG capture.

Shares are probed by name: listing them needs the srvsvc ``NetrShareEnum`` DCE/RPC call,
which smbprotocol does not implement (``smbclient -L`` does, with credentials on a terminal
or in a file).
"""

from __future__ import annotations

import struct
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

ADMIN_SHARES = ("ADMIN$", "C$")
DEFAULT_SHARES = ("IPC$", *ADMIN_SHARES)

# NTSTATUS of a refused SESSION_SETUP, in words ([MS-ERREF] 2.3.1).
AUTH_STATUS = {
    0xC000006D: ("STATUS_LOGON_FAILURE", "logon failure: unknown user name or bad password"),
    0xC000006A: ("STATUS_WRONG_PASSWORD", "wrong password"),
    0xC0000064: ("STATUS_NO_SUCH_USER", "no such user"),
    0xC0000234: ("STATUS_ACCOUNT_LOCKED_OUT", "the account is locked out"),
    0xC0000072: ("STATUS_ACCOUNT_DISABLED", "the account is disabled"),
    0xC0000193: ("STATUS_ACCOUNT_EXPIRED", "the account has expired"),
    0xC0000071: ("STATUS_PASSWORD_EXPIRED", "the password has expired"),
    0xC0000224: ("STATUS_PASSWORD_MUST_CHANGE", "the password must be changed at next logon"),
    0xC000006E: ("STATUS_ACCOUNT_RESTRICTION", "an account restriction prevents the logon"),
    0xC000006F: ("STATUS_INVALID_LOGON_HOURS", "logon not allowed at this time of day"),
    0xC0000070: ("STATUS_INVALID_WORKSTATION", "logon not allowed from this workstation"),
    0xC000015B: ("STATUS_LOGON_TYPE_NOT_GRANTED", "the account may not log on over the network"),
    0xC0000022: ("STATUS_ACCESS_DENIED", "access denied"),
    0xC0000413: ("STATUS_AUTHENTICATION_FIREWALL_FAILED", "refused by the authentication firewall"),
}
SHARE_STATUS = {
    0xC0000022: ("STATUS_ACCESS_DENIED", "access denied"),
    0xC00000CC: ("STATUS_BAD_NETWORK_NAME", "no such share"),
    0xC0000203: ("STATUS_USER_SESSION_DELETED", "the session was deleted"),
}
DIALECTS = {0x0202: "2.0.2", 0x0210: "2.1", 0x0300: "3.0", 0x0302: "3.0.2", 0x0311: "3.1.1"}
CIPHERS = {1: "AES-128-CCM", 2: "AES-128-GCM", 3: "AES-256-CCM", 4: "AES-256-GCM"}

# NTLM NEGOTIATE flags: UNICODE | REQUEST_TARGET | NTLM | ALWAYS_SIGN | EXTENDED_SESSIONSECURITY |
# TARGET_INFO | VERSION | 128 | KEY_EXCH | 56
_NEGOTIATE_FLAGS = 0x00000001 | 0x00000004 | 0x00000200 | 0x00008000 | 0x00080000 | 0x00800000 | 0x02000000 \
    | 0x20000000 | 0x40000000 | 0x80000000
_AV_NAMES = {1: "netbios_computer", 2: "netbios_domain", 3: "dns_computer", 4: "dns_domain", 5: "dns_tree"}


@dataclass(frozen=True)
class NtlmServerInfo:
    """The NTLM CHALLENGE's target information: who the server says it is (before any credential)."""

    target_name: str = ""
    netbios_computer: str = ""
    netbios_domain: str = ""
    dns_computer: str = ""
    dns_domain: str = ""
    dns_tree: str = ""
    server_time: str = ""  # ISO 8601 UTC, from MsvAvTimestamp
    os_version: str = ""  # "10.0.20348" when the server sends its version

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


@dataclass(frozen=True)
class ShareResult:
    share: str
    ok: bool
    status: str | None = None  # NTSTATUS name when refused
    reason: str = ""
    encrypted: bool | None = None  # the share demands encryption (SMB 3)
    elapsed: float = 0.0


@dataclass(frozen=True)
class SmbProof:
    outcome: str  # login_ok | login_limited | auth_failed | unreachable | timeout | error
    reason: str
    host: str
    port: int
    username: str  # as sent ("DOMAIN\\user" or "user@domain")
    dialect: str = ""
    server_requires_signing: bool | None = None
    session_signed: bool | None = None
    session_encrypted: bool | None = None
    cipher: str | None = None
    server_guid: str = ""
    server: NtlmServerInfo | None = None
    auth_status: str | None = None  # NTSTATUS name of a refused session setup
    shares: tuple[ShareResult, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    admin_shares: tuple[str, ...] = ADMIN_SHARES  # the shares that count as administrative

    @property
    def admin_share(self) -> str | None:
        admin = {a.upper() for a in self.admin_shares}
        return next((s.share for s in self.shares if s.ok and s.share.upper() in admin), None)

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: v for k, v in self.__dict__.items() if k not in ("server", "shares")}
        out["admin_share"] = self.admin_share
        out["server"] = self.server.as_dict() if self.server else None
        out["shares"] = [s.__dict__ for s in self.shares]
        return out


def ntlm_negotiate() -> bytes:
    """A bare NTLM NEGOTIATE message (no domain, no workstation), version 10.0 like pyspnego's."""
    version = struct.pack("<BBHBBBB", 10, 0, 0, 0, 0, 0, 15)
    return b"NTLMSSP\x00" + struct.pack("<II", 1, _NEGOTIATE_FLAGS) + b"\x00" * 16 + version


def parse_challenge(data: bytes) -> NtlmServerInfo:
    """Target name and AV pairs of an NTLM CHALLENGE ([MS-NLMP] 2.2.1.2); ValueError if it is not one."""
    if len(data) < 48 or data[:8] != b"NTLMSSP\x00" or struct.unpack("<I", data[8:12])[0] != 2:
        raise ValueError("not an NTLM CHALLENGE message")
    name_len, _, name_off = struct.unpack("<HHI", data[12:20])
    flags = struct.unpack("<I", data[20:24])[0]
    info_len, _, info_off = struct.unpack("<HHI", data[40:48])
    values: dict[str, str] = {"target_name": data[name_off:name_off + name_len].decode("utf-16-le", "replace")}
    pos, end = info_off, min(len(data), info_off + info_len)
    while pos + 4 <= end:
        av_id, av_len = struct.unpack("<HH", data[pos:pos + 4])
        value = data[pos + 4:pos + 4 + av_len]
        pos += 4 + av_len
        if av_id == 0:
            break
        if av_id in _AV_NAMES:
            values[_AV_NAMES[av_id]] = value.decode("utf-16-le", "replace")
        elif av_id == 7 and len(value) == 8:
            filetime = struct.unpack("<Q", value)[0]
            when = datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=filetime // 10)
            values["server_time"] = when.isoformat().replace("+00:00", "Z")
    if flags & 0x02000000 and len(data) >= 56:
        major, minor, build = struct.unpack("<BBH", data[48:52])
        if major:
            values["os_version"] = f"{major}.{minor}.{build}"
    return NtlmServerInfo(**values)


def _server_info(conn: Any) -> NtlmServerInfo | None:
    """Send one NTLM NEGOTIATE in a SESSION_SETUP and read the CHALLENGE; the half session is dropped."""
    from smbprotocol.exceptions import MoreProcessingRequired, SMBException
    from smbprotocol.session import SMB2SessionSetupRequest, SMB2SessionSetupResponse

    setup = SMB2SessionSetupRequest()
    setup["security_mode"] = conn.client_security_mode
    setup["buffer"] = ntlm_negotiate()
    request = conn.send(setup, sid=0, credit_request=1)
    try:
        header = conn.receive(request)
    except MoreProcessingRequired as exc:
        header = exc.header
    except SMBException:
        return None
    finally:
        # This leg is not part of the real session's pre-authentication hash.
        conn.preauth_integrity_session_hash_value.pop(request.message["message_id"].get_value(), None)
    response = SMB2SessionSetupResponse()
    response.unpack(header["data"].get_value())
    try:
        return parse_challenge(response["buffer"].get_value())
    except ValueError:
        return None


def _status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None)
    return int(status) if status is not None else None


Trace = Callable[[str, dict[str, Any]], None]


def prove(host: str, username: str, password: str, *, port: int = 445, domain: str = "",
          shares: tuple[str, ...] = DEFAULT_SHARES, timeout: float = 10.0, require_encryption: bool = False,
          auth_protocol: str = "ntlm", admin_shares: tuple[str, ...] = ADMIN_SHARES,
          trace: Trace | None = None, on_connection: Callable[[Any], None] | None = None) -> SmbProof:
    """Session setup, then a tree connect per share; the outcome as a driver records it.

    ``username``: ``user``, ``DOMAIN\\user`` or ``user@domain``; ``domain`` is prefixed as
    ``DOMAIN\\`` when given and the user name has none. ``admin_shares``: the shares whose
    opening makes ``login_ok``. ``trace(step, facts)`` is called as each exchange ends (for a
    transcript with true times; never given the password); ``on_connection(conn)`` once the
    smbprotocol Connection exists (a stopped run disconnects it). Never raises for a network or
    authentication failure: those are outcomes.
    """
    from smbprotocol.connection import Connection
    from smbprotocol.exceptions import SMBAuthenticationError, SMBException
    from smbprotocol.session import Session
    from smbprotocol.tree import TreeConnect

    user = f"{domain}\\{username}" if domain and "\\" not in username and "@" not in username else username
    base: dict[str, Any] = {"host": host, "port": port, "username": user, "admin_shares": tuple(admin_shares)}
    note: Trace = trace or (lambda step, facts: None)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    conn = Connection(uuid.uuid4(), host, port, require_signing=True)
    if on_connection is not None:
        on_connection(conn)
    try:
        try:
            conn.connect(timeout=timeout)
        except (ValueError, OSError, SMBException) as exc:
            text = str(exc)
            # smbprotocol words a missing NEGOTIATE answer "Connection timeout of N seconds exceeded".
            if isinstance(exc, TimeoutError) or "timeout" in text.lower() or "timed out" in text.lower():
                note("negotiate", {"host": host, "port": port, "error": text})
                return SmbProof("timeout", f"no SMB answer within {timeout:g} s", **base)
            note("connect", {"host": host, "port": port, "error": text})
            return SmbProof("unreachable", f"no SMB connection: {text}", **base)
        timings["negotiate"] = round(time.monotonic() - t0, 3)
        facts: dict[str, Any] = {
            "dialect": DIALECTS.get(conn.dialect, hex(conn.dialect or 0)),
            "server_requires_signing": bool(conn.server_security_mode & 0x2),
            "server_guid": str(conn.server_guid or ""),
            "cipher": CIPHERS.get(conn.cipher_id) if conn.cipher_id else None,
        }
        note("negotiate", {"host": host, "port": port, **facts})
        facts["server"] = _server_info(conn)
        note("ntlm_challenge", facts["server"].as_dict() if facts["server"] else {"error": "no NTLM challenge read"})
        session = Session(conn, user, password, require_encryption=require_encryption, auth_protocol=auth_protocol)
        t1 = time.monotonic()
        try:
            session.connect()
        except (SMBAuthenticationError, SMBException) as exc:
            timings["auth"] = round(time.monotonic() - t1, 3)
            code = _status_of(exc)
            name, words = AUTH_STATUS.get(code or 0, (None, ""))
            note("session_setup", {"user": user, "ok": False, "status": name or (f"0x{code:08X}" if code else None),
                                   "reason": words or str(exc)})
            if name:
                return SmbProof("auth_failed", f"{words} ({name})", auth_status=name, timings=timings, **base,
                                **facts)
            return SmbProof("auth_failed" if isinstance(exc, SMBAuthenticationError) else "error",
                            f"session setup failed: {exc}", timings=timings, **base, **facts)
        timings["auth"] = round(time.monotonic() - t1, 3)
        facts["session_signed"] = bool(session.signing_required)
        facts["session_encrypted"] = bool(session.encrypt_data)
        note("session_setup", {"user": user, "ok": True, "signed": facts["session_signed"],
                               "encrypted": facts["session_encrypted"]})
        results = []
        for share in shares:
            result = _tree(TreeConnect, session, host, share)
            note("tree_connect", {"share": share, "ok": result.ok, "status": result.status, "reason": result.reason,
                                  "encrypted": result.encrypted})
            results.append(result)
        timings["total"] = round(time.monotonic() - t0, 3)
        wanted = {a.upper() for a in admin_shares}
        admin = next((r.share for r in results if r.ok and r.share.upper() in wanted), None)
        opened = [r.share for r in results if r.ok]
        if admin:
            outcome, reason = "login_ok", f"logged on; the administrative share {admin} opened"
        else:
            outcome = "login_limited"
            reason = ("logged on, but no administrative share opened" + (f" (opened: {', '.join(opened)})"
                                                                         if opened else ""))
        try:
            session.disconnect()
            note("logoff", {"ok": True})
        except Exception as exc:  # the proof is complete; a failed logoff changes nothing in it
            note("logoff", {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        return SmbProof(outcome, reason, shares=tuple(results), timings=timings, **base, **facts)
    finally:
        try:
            conn.disconnect(close=True)
        except Exception:  # noqa: S110 - already closed
            pass


def _tree(tree_cls: Any, session: Any, host: str, share: str) -> ShareResult:
    from smbprotocol.exceptions import SMBException

    t = time.monotonic()
    tree = tree_cls(session, rf"\\{host}\{share}")
    try:
        tree.connect()
    except SMBException as exc:
        code = _status_of(exc)
        name, words = SHARE_STATUS.get(code or 0, (f"0x{code:08X}" if code else None, str(exc)))
        return ShareResult(share, False, name, words, elapsed=round(time.monotonic() - t, 3))
    encrypted = tree.encrypt_data
    try:
        tree.disconnect()
    except SMBException:
        pass
    return ShareResult(share, True, None, "opened", encrypted, round(time.monotonic() - t, 3))
