"""Telnet for the devices that speak nothing else: the SSH driver's conversation over RFC 854.

Only for a target that says ``transport: telnet`` *and* ``insecure_telnet: true`` (the profile
check refuses one without the other). :class:`TelnetChannel` implements the Channel protocol
that :class:`~evidence_kit.drivers.terminal.Expect` reads (drivers/terminal.py), so everything
after the login is the SSH driver's own: the same profiles (prompts, modes, pager, identity
commands), asciicast and text transcript, redaction and outcomes.

Negotiation: the server may echo and suppress go-ahead (what every telnetd asks); we send our
terminal type (VT100) and window size (the profile's) when asked, and refuse every other
option. Telnet has no server identity (no host key, no certificate) and no encryption: the
journal says so (``insecure_transport``), the identity records it, and every outcome after
the password was sent carries it in its detail.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from evidence_kit.case.outcome import Outcome
from evidence_kit.drivers.base import Ending, TargetEnded, end
from evidence_kit.drivers.terminal import ChannelClosed, Expect, ExpectTimeout, TerminalRecorder, summarize

if TYPE_CHECKING:
    from evidence_kit.drivers.ssh import SshDriver, SshJob

TELNET_PORT = 23
IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA, TTYPE, NAWS = 1, 3, 24, 31
OPTION_NAMES = {0: "BINARY", 1: "ECHO", 3: "SUPPRESS-GO-AHEAD", 5: "STATUS", 6: "TIMING-MARK", 24: "TERMINAL-TYPE",
                31: "NAWS", 32: "TERMINAL-SPEED", 33: "TOGGLE-FLOW", 34: "LINEMODE", 35: "X-DISPLAY-LOCATION",
                36: "OLD-ENVIRON", 37: "AUTHENTICATION", 38: "ENCRYPT", 39: "NEW-ENVIRON"}
USER_PROMPT = re.compile(r"(?i)(user ?name|login)\s*:\s*$")
PASSWORD_PROMPT = re.compile(r"(?i)pass(word|code)?\s*:\s*$")
REFUSED = re.compile(r"(?i)(login incorrect|authentication failed|access denied|bad password|"
                     r"invalid (login|password|user))")
IN_CLEAR = "the user name and password crossed the network unencrypted (telnet)"


def _name(option: int) -> str:
    return OPTION_NAMES.get(option, str(option))


class TelnetChannel:
    """RFC 854 over a socket (or a hop's channel), as the Channel protocol of drivers/terminal.py."""

    def __init__(self, sock: Any, width: int, height: int, term: str = "VT100") -> None:
        self._sock = sock
        self._width, self._height, self._term = width, height, term
        self._raw = bytearray()  # bytes not yet parsed (a command split across reads)
        self._data = bytearray()  # parsed data for the reader
        self._timeout: float | None = None
        self._we_do: set[int] = set()  # options the server does (we said DO)
        self._we_will: set[int] = set()  # options we do (we said WILL)
        self.offered: list[str] = []  # what the server asked, for the journal
        self.closed = False

    # -- the Channel protocol -----------------------------------------------------------------

    def settimeout(self, t: float | None) -> None:
        self._timeout = t

    def recv_ready(self) -> bool:
        return bool(self._data)

    def exit_status_ready(self) -> bool:
        return self.closed

    def recv(self, n: int) -> bytes:
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        while not self._data:
            if self.closed:
                return b""
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError("no telnet data")
            self._sock.settimeout(left)
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                raise TimeoutError("no telnet data")
            if not chunk:
                self.closed = True
                return b""
            self._feed(chunk)
        out = bytes(self._data[:n])
        del self._data[:n]
        return out

    def send(self, data: bytes) -> int:
        self._sock.sendall(_nvt(data))
        return len(data)

    def close(self) -> None:
        self.closed = True
        try:
            self._sock.close()
        except Exception:  # noqa: S110 - the far end may have gone first
            pass

    # -- negotiation ------------------------------------------------------------------------------

    def _feed(self, chunk: bytes) -> None:
        buf = self._raw
        buf.extend(chunk)
        while buf:
            if buf[0] != IAC:
                i = buf.find(bytes([IAC]))
                stop = len(buf) if i < 0 else i
                self._data.extend(buf[:stop].replace(b"\r\x00", b"\r"))
                del buf[:stop]
                continue
            if len(buf) < 2:
                return
            cmd = buf[1]
            if cmd == IAC:
                self._data.append(IAC)
                del buf[:2]
            elif cmd in (DO, DONT, WILL, WONT):
                if len(buf) < 3:
                    return
                option = buf[2]
                del buf[:3]
                self._negotiate(cmd, option)
            elif cmd == SB:
                stop = buf.find(bytes([IAC, SE]))
                if stop < 0:
                    return
                self._subnegotiation(bytes(buf[2:stop]))
                del buf[:stop + 2]
            else:  # NOP, GA, data mark...: nothing to do
                del buf[:2]

    def _negotiate(self, cmd: int, option: int) -> None:
        words = {DO: "DO", DONT: "DONT", WILL: "WILL", WONT: "WONT"}[cmd]
        if len(self.offered) < 64:
            self.offered.append(f"{words} {_name(option)}")
        reply: bytes = b""
        if cmd == WILL:
            if option in (ECHO, SGA):
                if option not in self._we_do:
                    self._we_do.add(option)
                    reply = bytes([IAC, DO, option])
            else:
                reply = bytes([IAC, DONT, option])
        elif cmd == WONT:
            if option in self._we_do:
                self._we_do.discard(option)
                reply = bytes([IAC, DONT, option])
        elif cmd == DO:
            if option in (SGA, TTYPE, NAWS):
                if option not in self._we_will:
                    self._we_will.add(option)
                    reply = bytes([IAC, WILL, option])
                if option == NAWS:
                    reply += self._window()
            else:
                reply = bytes([IAC, WONT, option])
        elif cmd == DONT and option in self._we_will:
            self._we_will.discard(option)
            reply = bytes([IAC, WONT, option])
        if reply:
            self._sock.sendall(reply)

    def _window(self) -> bytes:
        size = bytes([self._width >> 8, self._width & 255, self._height >> 8, self._height & 255])
        return bytes([IAC, SB, NAWS]) + size.replace(bytes([IAC]), bytes([IAC, IAC])) + bytes([IAC, SE])

    def _subnegotiation(self, body: bytes) -> None:
        if body[:2] == bytes([TTYPE, 1]):  # SEND: tell our terminal type
            self._sock.sendall(bytes([IAC, SB, TTYPE, 0]) + self._term.encode() + bytes([IAC, SE]))


def _nvt(data: bytes) -> bytes:
    """Data as the network virtual terminal wants it: IAC doubled, CR LF lines, bare CR as CR NUL."""
    data = data.replace(bytes([IAC]), bytes([IAC, IAC]))
    data = re.sub(rb"\r(?!\n)", b"\r\x00", data)
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def telnet_capture(driver: SshDriver, job: SshJob, sock: Any) -> Ending:
    """Log into a telnet target with the SSH driver's conversation; the evidence says 'in clear'."""
    session, profile = job.session, job.profile
    session.event("insecure_transport", {
        "transport": "telnet", "insecure_telnet": True,
        "note": "telnet has no encryption and no server identity: no host key or certificate can be "
                "recorded, and the user name and password are sent in clear",
    })
    session.set_identity(transport="telnet", credential_in_clear=True, host_key="(none: telnet)")
    channel = TelnetChannel(sock, profile.terminal_width, profile.terminal_height)
    session.on_cancel(channel.close)
    state = {"password_sent": False}
    try:
        ending = driver.record_session(job, profile, channel,
                                       login=lambda term, recorder: _login(job, term, recorder, channel, state))
    except TargetEnded as ended:
        raise TargetEnded(ended.ending.outcome, _with_note(ended.ending.detail, state),
                          **dict(ended.ending.data)) from None
    finally:
        channel.close()
    return Ending(ending.outcome, _with_note(ending.detail, state), ending.data)


def _with_note(detail: str, state: dict[str, bool]) -> str:
    return f"{detail}; {IN_CLEAR}" if state["password_sent"] else f"{detail}; telnet: no credential was sent"


def _login(job: SshJob, term: Expect, recorder: TerminalRecorder, channel: TelnetChannel,
           state: dict[str, bool]) -> None:
    """Answer the login and password prompts; stop at the first prompt the conversation knows."""
    session, target, profile = job.session, job.target, job.profile
    t = target.timeouts
    username = (target.username or "") + profile.username_suffix
    password = session.secret("password")
    recorder.marker("telnet login")
    known = {f"mode_{m.name}": re.compile(m.pattern) for m in profile.modes}
    known.update({f"q{i}": re.compile(q.expect) for i, q in enumerate(profile.on_connect)})
    sent_user = False
    while True:
        patterns = {"user": USER_PROMPT, "password": PASSWORD_PROMPT, **known}
        try:
            found = term.expect(patterns, t.auth, "telnet login or password prompt")
        except ExpectTimeout as exc:
            end(Outcome.TIMEOUT, f"{exc}; last line: {summarize(exc.tail, 200)!r}")
        except ChannelClosed as exc:
            refused = REFUSED.search(term.buffer)
            if state["password_sent"] and refused:
                end(Outcome.AUTH_FAILED, f"telnet login refused: {summarize(refused.group(0), 200)!r}")
            end(Outcome.ERROR, f"telnet: {exc} during login")
        if found.name in ("user", "password") and state["password_sent"]:
            refused = REFUSED.search(found.buffer)
            words = refused.group(0) if refused else f"asked again: {found.match.group(0).strip()}"
            term.take()
            session.event("telnet_login", {"step": "refused", "said": summarize(words, 200)})
            end(Outcome.AUTH_FAILED, f"telnet login refused: {summarize(words, 200)!r}")
        if found.name == "user":
            if sent_user:
                end(Outcome.AUTH_FAILED, "telnet: the device asked for the user name again before a password")
            term.take()
            term.send_line(username)
            sent_user = True
            session.event("telnet_login", {"step": "username sent", "username": username,
                                           "negotiation": channel.offered})
            continue
        if found.name == "password":
            term.take()
            if password is None:
                end(Outcome.ERROR, "telnet: a password was asked for and the target has none")
            term.send_line(password.reveal(), secret=True)
            state["password_sent"] = True
            session.event("telnet_login", {"step": "password sent", "in_clear": True,
                                           "note": "redacted here; it crossed the network unencrypted"})
            continue
        # A prompt or question the conversation knows: logged in (it stays in the buffer).
        session.event("telnet_login", {"step": "logged in" if state["password_sent"] else
                                       "the device showed a prompt without asking for a password"})
        session.set_identity(account=username)
        return
