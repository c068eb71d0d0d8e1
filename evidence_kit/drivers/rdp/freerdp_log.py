"""Reading FreeRDP 2's own log: connection state, errors, and what the server said about the logon.

FreeRDP's exit status alone cannot decide an outcome: xfreerdp 2.11 maps only some connect
errors to exit codes (a password-expired NLA failure exits 0, say), and a server without NLA
decides the logon *inside* the session, where FreeRDP sees only pixels. The log says more,
with the filters :data:`LOG_ARGS` sets (DEBUG for these few tags only, INFO elsewhere):

- ``com.freerdp.core`` (ERROR): every ``freerdp_set_last_error`` as its name, e.g.
  ``ERRCONNECT_LOGON_FAILURE [0x00020014]`` -- NLA maps the server's NTSTATUS to these names
  (libfreerdp/core/nla.c in FreeRDP 2.11); ``ERRINFO_*`` when the server ends the session;
- ``com.freerdp.core.connection`` (DEBUG): ``rdp_client_transition_to_state A --> B``, so
  we know how far the connection got (``CONNECTION_STATE_NLA``, ``..._ACTIVE``);
- ``com.freerdp.core.info`` (DEBUG): the server's Save Session Info PDU -- ``LogonInfoV1/V2``
  (a logon notification with the session id) and ``LogonErrorInfo`` (Windows reports a bad
  password, or "another user is connected" dialogs, this way);
- ``com.freerdp.client.x11`` (INFO): ``Logon Error Info <data> [<type>]`` in words;
- ``com.freerdp.channels.cliprdr.client`` / ``...rdpdr.client`` (DEBUG): ``MonitorReady``
  and the ``USER_LOGGEDON`` device-redirection state, which a server sends once a user
  session runs (xrdp's chansrv and Windows' rdpclip only exist inside a session).

The log holds the user name and the server's words, never the password (checked by the
tests), but callers treat it as potentially secret-bearing and redact it before storing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

LOG_ARGS = (
    "/log-level:INFO",
    "/log-filters:com.freerdp.core.connection:DEBUG,com.freerdp.core.info:DEBUG,"
    "com.freerdp.channels.cliprdr.client:DEBUG,com.freerdp.channels.rdpdr.client:DEBUG",
)

# ERRCONNECT_* names (include/freerdp/error.h) that mean "the credential was refused", in words.
AUTH_FAILURES = {
    "ERRCONNECT_LOGON_FAILURE": "logon failure: unknown user name or bad password (STATUS_LOGON_FAILURE)",
    "ERRCONNECT_WRONG_PASSWORD": "wrong password (STATUS_WRONG_PASSWORD)",
    "ERRCONNECT_ACCOUNT_LOCKED_OUT": "the account is locked out (STATUS_ACCOUNT_LOCKED_OUT)",
    "ERRCONNECT_ACCOUNT_DISABLED": "the account is disabled (STATUS_ACCOUNT_DISABLED)",
    "ERRCONNECT_ACCOUNT_EXPIRED": "the account has expired (STATUS_ACCOUNT_EXPIRED)",
    "ERRCONNECT_PASSWORD_EXPIRED": "the password has expired (STATUS_PASSWORD_EXPIRED)",
    "ERRCONNECT_PASSWORD_CERTAINLY_EXPIRED": "the password has expired (STATUS_PASSWORD_EXPIRED)",
    "ERRCONNECT_PASSWORD_MUST_CHANGE": "the password must be changed at next logon (STATUS_PASSWORD_MUST_CHANGE)",
    "ERRCONNECT_ACCOUNT_RESTRICTION": "an account restriction prevents the logon, e.g. logon hours or "
                                      "workstations (STATUS_ACCOUNT_RESTRICTION)",
    "ERRCONNECT_LOGON_TYPE_NOT_GRANTED": "the account may not log on through Remote Desktop "
                                         "(STATUS_LOGON_TYPE_NOT_GRANTED)",
    "ERRCONNECT_ACCESS_DENIED": "access denied (STATUS_ACCESS_DENIED)",
    "ERRCONNECT_AUTHENTICATION_FAILED": "authentication failed",
    "ERRCONNECT_CLIENT_REVOKED": "the client has been revoked (STATUS_KDC_CERT_REVOKED)",
}
UNREACHABLE = {"ERRCONNECT_CONNECT_FAILED", "ERRCONNECT_DNS_ERROR", "ERRCONNECT_DNS_NAME_NOT_FOUND"}

# [MS-RDPBCGR] 2.2.10.1.1.4.1.1 Logon Errors Info: the names FreeRDP 2 logs as
# "Logon Error Info <data> [<type>]" (freerdp_get_logon_error_info_data/_type).
LOGON_FAILED_TYPES = {
    "LOGON_FAILED_BAD_PASSWORD": "the server's logon screen refused the password",
    "LOGON_FAILED_UPDATE_PASSWORD": "the server's logon screen asks for a password change",
    "LOGON_FAILED_OTHER": "the server's logon screen refused the logon",
}
# Another session is involved: continuing could disconnect someone (or reconnect to a session).
SESSION_BUSY_TYPES = {
    "LOGON_MSG_SESSION_BUSY_OPTIONS": "the server says another user is connected to the session",
    "LOGON_MSG_BUMP_OPTIONS": "the server offers to disconnect another user",
    "LOGON_MSG_RECONNECT_OPTIONS": "the server offers to reconnect to an existing session",
    "LOGON_MSG_DISCONNECT_REFUSED": "another user refused to be disconnected",
    "LOGON_MSG_NO_PERMISSION": "no permission to take over the session",
}

_STATE = re.compile(r"rdp_client_transition_to_state (\w+) --> (\w+)")
_ERRCONNECT = re.compile(r"\b(ERRCONNECT_[A-Z_]+) \[0x[0-9A-Fa-f]+\]")
_ERRINFO = re.compile(r"\b(ERRINFO_[A-Z0-9_]+) \(0x[0-9A-Fa-f]+\):?\s*(.*)")
_NTSTATUS = re.compile(r"NTSTATUS: (\w+) \[0x([0-9A-Fa-f]+)\]")
_LOGON_ERROR = re.compile(r"Logon Error Info (\S+) \[(\S+)\]")
_LOGON_INFO = re.compile(r"LogonInfoV[12]: SessionId: (0x[0-9A-Fa-f]+) UserName: \[(.*?)\] Domain: \[(.*?)\]")
_CERT_FAIL = re.compile(r"(certificate verification failed|VerifyCertificate|The host key for .* has changed|"
                        r"CERTIFICATE NAME MISMATCH|tls_verify_certificate)", re.IGNORECASE)


@dataclass
class LogState:
    """What the log said so far (fed line by line while the client runs)."""

    states: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # ERRCONNECT_* in order
    errinfo: list[tuple[str, str]] = field(default_factory=list)  # (ERRINFO_*, text)
    ntstatus: list[str] = field(default_factory=list)
    logon_errors: list[tuple[str, str]] = field(default_factory=list)  # (data, type)
    logon_info: dict[str, str] = field(default_factory=dict)  # session_id, user, domain
    clipboard_ready: bool = False
    rdpdr_logged_on: bool = False
    certificate_refused: bool = False
    lines: int = 0

    def feed(self, line: str) -> None:
        self.lines += 1
        if m := _STATE.search(line):
            self.states.append(m.group(2))
        if m := _ERRCONNECT.search(line):
            if "resetting error state" not in line:
                self.errors.append(m.group(1))
        if m := _ERRINFO.search(line):
            self.errinfo.append((m.group(1), m.group(2).strip()))
        if m := _NTSTATUS.search(line):
            self.ntstatus.append(m.group(1))
        if m := _LOGON_ERROR.search(line):
            self.logon_errors.append((m.group(1), m.group(2)))
        if m := _LOGON_INFO.search(line):
            self.logon_info = {"session_id": m.group(1), "user": m.group(2), "domain": m.group(3)}
        if "LogonPlainNotify" in line and not self.logon_info:
            self.logon_info = {"notify": "plain"}
        if "cliprdr" in line and "MonitorReady" in line:
            self.clipboard_ready = True
        if "RDPDR_CHANNEL_STATE_USER_LOGGEDON" in line:
            self.rdpdr_logged_on = True
        if "com.freerdp.crypto" in line and _CERT_FAIL.search(line):
            self.certificate_refused = True

    @property
    def state(self) -> str:
        return self.states[-1] if self.states else "CONNECTION_STATE_INITIAL"

    def reached(self, name: str) -> bool:
        return f"CONNECTION_STATE_{name}" in self.states

    @property
    def active(self) -> bool:
        return self.reached("ACTIVE")

    @property
    def nla_passed(self) -> bool:
        """CredSSP finished and the connection went on: the server accepted the credential."""
        return self.reached("NLA") and self.reached("MCS_CONNECT")

    def logon_signals(self) -> list[str]:
        """Server-side signs that a user session runs (not just a logon screen)."""
        out = []
        if self.logon_info:
            out.append("logon_notification")
        if self.rdpdr_logged_on:
            out.append("rdpdr_user_logged_on")
        if self.clipboard_ready:
            out.append("clipboard_ready")
        return out

    def auth_failure(self) -> str | None:
        """The reason in words when the log shows the credential was refused, else None."""
        for name in self.errors:
            if name in AUTH_FAILURES:
                why = AUTH_FAILURES[name]
                if name == "ERRCONNECT_AUTHENTICATION_FAILED" and self.ntstatus:
                    why += f" ({self.ntstatus[-1]})"
                return why
        for data, kind in self.logon_errors:
            # "LOGON_FAILED_OTHER [LOGON_MSG_SESSION_CONTINUE]" is also seen on logons that go on
            # (a console session exists): only a bad or expired password, not continued, counts.
            if data in LOGON_FAILED_TYPES and data != "LOGON_FAILED_OTHER" and kind != "LOGON_MSG_SESSION_CONTINUE":
                return f"{LOGON_FAILED_TYPES[data]} ({data} [{kind}])"
        # FreeRDP's own server (and others) just close the socket on a refused NTLM response: the
        # connection got into NLA, never past it, and died on the transport.
        transport_died = "ERRCONNECT_CONNECT_TRANSPORT_FAILED" in self.errors
        if self.reached("NLA") and not self.reached("MCS_CONNECT") and transport_died:
            return ("the server closed the connection during NLA (CredSSP) after the NTLM authentication "
                    "message, without a status: the credential was refused")
        return None

    def session_busy(self) -> str | None:
        for _data, kind in self.logon_errors:
            if kind in SESSION_BUSY_TYPES:
                return f"{SESSION_BUSY_TYPES[kind]} ({kind})"
        return None

    def ended_by_server(self) -> str | None:
        """ERRINFO the server sent to end the session, in its words (e.g. another connection took over)."""
        for name, text in self.errinfo:
            if name not in ("ERRINFO_SUCCESS", "ERRINFO_NONE"):
                return f"{name}: {text}" if text else name
        return None
