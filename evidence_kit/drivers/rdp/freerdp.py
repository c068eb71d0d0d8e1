"""One RDP logon with FreeRDP's ``xfreerdp`` on a private display: outcome, screenshots, log.

Why xfreerdp (Debian ``freerdp2-x11``): it is the widely used open-source RDP client, it speaks
TLS and NLA (CredSSP/NTLM) to Windows, xrdp and FreeRDP servers alike, and it renders the
session for real -- what it paints is what a person would have seen. The pure-Python aardwolf
(0.2.16) was measured against both test servers and failed (no bitmap updates from xrdp, a wrong
password reported as success, NLA refused by FreeRDP's server): see docs/real-parts.md.

How the run is kept honest and secret-free:

- the password reaches xfreerdp on its standard input only (``/from-stdin:force``), never on
  the command line or in the environment; the environment is built from scratch;
- the certificate was fetched and judged before (:func:`evidence_kit.drivers.rdp.negotiate.probe`);
  xfreerdp is told to accept exactly that certificate (``/cert:deny,fingerprint:sha256:...``)
  with an empty CA store, so a different certificate aborts the TLS handshake before any
  credential is sent, and nothing is written to a known_hosts file outside the work folder;
- the security mode is forced (``/sec:nla`` or ``/sec:tls``): no silent fall-back to weaker
  RDP security;
- nothing is redirected (no drives, printers, smart cards, microphone); audio is not played;
  no keystroke or click is sent: the proof is read-only;
- FreeRDP's log is captured whole and returned as bytes for the caller to redact and keep.

The outcome: ``login_ok`` once the desktop has painted (frame buffer unchanged for ``settle``
seconds, not blank) *and* the logon is confirmed -- by NLA having accepted the credential
before the session started, or, without NLA, by the server's own signs that a user session
runs (logon notification, the session's clipboard or device-redirection channel). A server
that keeps its own logon screen up (xrdp shows "login failed" and does not disconnect) is
``auth_failed``. See :mod:`evidence_kit.drivers.rdp.freerdp_log` for what is read from the log.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from evidence_kit.drivers.rdp.display import DisplayError, Frame, PrivateDisplay
from evidence_kit.drivers.rdp.freerdp_log import LOG_ARGS, UNREACHABLE, LogState
from evidence_kit.drivers.rdp.recording import Recorder
from evidence_kit.drivers.tls import colon_form, normalize_fingerprint

XFREERDP = "xfreerdp"
OUTCOMES = ("login_ok", "auth_failed", "certificate_mismatch", "unreachable", "timeout", "error")
# xrdp's own login window (xrdp.ini ls_* colours): title bar 009cb5, body dedede, on black.
XRDP_TITLE, XRDP_BODY = (0, 156, 181), (222, 222, 222)


@dataclass(frozen=True)
class RdpLogonRequest:
    """Everything but the password (which is passed on its own, so no repr can show it)."""

    host: str
    port: int
    username: str  # "user", "DOMAIN\\user" or "user@domain.example" (UPN)
    security: str  # "nla" | "tls": what the probe found (or what the profile demands)
    cert_sha256: str  # the leaf certificate the caller accepted; xfreerdp accepts this one only
    domain: str = ""  # separate domain (/d:), when not part of username
    width: int = 1280
    height: int = 1024
    connect_timeout: float = 20.0  # TCP + negotiation + NLA
    logon_timeout: float = 60.0  # from start until the desktop is painted
    settle: float = 2.0  # seconds the frame must stay unchanged to count as painted
    # xrdp shows its own "Connection Log" window both while sesman checks the password and after
    # a refusal ("login failed", connection kept open): only this long unchanged means refused.
    server_screen_hold: float = 8.0
    poll_interval: float = 0.25
    record: bool = False  # a video of the logon (frames as grabbed) with the system ffmpeg
    allow_session_takeover: bool = False  # False: stop when the server offers to bump a session
    client_hostname: str = "evidence-kit"  # what the server's logon events show as workstation

    def __post_init__(self) -> None:
        if self.security not in ("nla", "tls"):
            raise ValueError("security must be 'nla' or 'tls'")
        if len(normalize_fingerprint(self.cert_sha256)) != 64:
            raise ValueError("cert_sha256 must be a SHA-256 fingerprint (64 hex digits)")


@dataclass(frozen=True)
class Screenshot:
    label: str  # "desktop" (the painted desktop) or "final" (what was shown when it ended)
    png: bytes = field(repr=False)
    sha256: str  # of the PNG bytes
    frame_sha256: str  # of the raw pixels (what stability was judged on)
    at: float  # seconds since the start of the run
    width: int
    height: int
    colours: tuple[tuple[float, tuple[int, int, int]], ...]  # top colours (share, rgb)


@dataclass(frozen=True)
class RdpLogonResult:
    outcome: str  # one of OUTCOMES
    reason: str  # in words
    security: str
    signals: tuple[str, ...]  # what the decision rests on
    error_names: tuple[str, ...]  # ERRCONNECT_* / ERRINFO_* FreeRDP logged
    logon_errors: tuple[tuple[str, str], ...]  # Logon Error Info (data, type) the server sent
    logon_info: dict[str, str]  # Save Session Info logon notification (session id, user, domain)
    exit_code: int | None  # xfreerdp's, None if we ended it
    screenshots: tuple[Screenshot, ...]
    recording: Path | None  # the MP4 in the work folder, when asked for and made
    freerdp_log: bytes = field(repr=False)  # FreeRDP's WLog output, raw: redact before storing
    console: bytes = field(repr=False, default=b"")  # xfreerdp's stdout/stderr (prompt, X errors)
    command: tuple[str, ...] = ()  # xfreerdp's argv (holds no secret)
    timings: dict[str, float] = field(default_factory=dict)  # display, connected, painted, total
    client_version: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == "login_ok"


_VERSION: list[str] = []  # xfreerdp's version line, read once per process


def client_version(env: dict[str, str] | None = None) -> str:
    """``This is FreeRDP version 2.11.7 (...)``; xfreerdp needs an X display (and a HOME) even to
    say that, so ``env`` is the environment of a run (:func:`_environment`)."""
    if _VERSION or env is None:
        return _VERSION[0] if _VERSION else ""
    try:
        out = subprocess.run([XFREERDP, "/version"], capture_output=True, text=True, timeout=10, env=env).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    line = out.strip().splitlines()[0] if out.strip() else ""
    if line and not _VERSION:
        _VERSION.append(line)
    return line


def command(req: RdpLogonRequest, wm_class: str) -> list[str]:
    """xfreerdp's argv for ``req`` (no secret in it: the password goes to stdin)."""
    fingerprint = colon_form(normalize_fingerprint(req.cert_sha256)).lower()
    args = [
        XFREERDP, f"/v:{req.host}:{req.port}", f"/u:{req.username}", "/from-stdin:force",
        f"/sec:{req.security}", f"/cert:deny,fingerprint:sha256:{fingerprint}",
        f"/size:{req.width}x{req.height}", "/window-position:0x0", "-decorations", f"/wm-class:{wm_class}",
        f"/client-hostname:{req.client_hostname}", f"/timeout:{int(req.connect_timeout * 1000)}",
        "/audio-mode:2", "-grab-keyboard", "-grab-mouse", "-auto-reconnect", "/bpp:32", *LOG_ARGS,
    ]
    if req.domain:
        args.insert(3, f"/d:{req.domain}")
    return args


def _environment(workdir: Path, display_env: dict[str, str]) -> dict[str, str]:
    home = workdir / "home"
    (home / ".config").mkdir(parents=True, exist_ok=True)
    empty_ca = workdir / "no-ca"
    empty_ca.mkdir(exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": str(home / ".config"), "XDG_RUNTIME_DIR": str(workdir),
        # WLog's file appender flushes every line (the console one is block-buffered into a file,
        # so the log would arrive only at exit): the run reads it while the client runs.
        "WLOG_APPENDER": "FILE", "WLOG_FILEAPPENDER_OUTPUT_FILE_PATH": str(workdir),
        "WLOG_FILEAPPENDER_OUTPUT_FILE_NAME": "freerdp.log",
        # No CA store: only the fingerprint given on the command line is accepted.
        "SSL_CERT_FILE": str(empty_ca / "none.pem"), "SSL_CERT_DIR": str(empty_ca),
        **display_env,
    }


def looks_like_xrdp_dialog(frame: Frame) -> bool:
    """xrdp's own window (login box or "login failed" log) on its black screen, not a session."""
    shares = dict((rgb, share) for share, rgb in frame.colours(12))
    return shares.get((0, 0, 0), 0) > 0.4 and shares.get(XRDP_BODY, 0) > 0.03 and shares.get(XRDP_TITLE, 0) > 0.002


class _Run:
    """The state of one run: process, log reader, frames."""

    def __init__(self, req: RdpLogonRequest, workdir: Path) -> None:
        self.req = req
        self.workdir = workdir
        self.t0 = time.monotonic()
        self.log_path = workdir / "freerdp.log"
        self.console_path = workdir / "console.log"
        self.decided_errors: list[str] | None = None
        self.log = LogState()
        self._log_pos = 0
        self._partial = b""
        self.last: Frame | None = None
        self.stable_since = 0.0
        self.connected_at: float | None = None

    def read_log(self) -> None:
        if not self.log_path.exists():
            return
        with open(self.log_path, "rb") as f:
            f.seek(self._log_pos)
            data = f.read()
        self._log_pos += len(data)
        data = self._partial + data
        *lines, self._partial = data.split(b"\n")
        for line in lines:
            self.log.feed(line.decode("utf-8", "replace"))
        if self.connected_at is None and self.log.active:
            self.connected_at = time.monotonic() - self.t0

    def observe(self, frame: Frame) -> None:
        if self.last is None or frame.digest != self.last.digest:
            self.stable_since = frame.at
        self.last = frame

    def stable_for(self) -> float:
        return (self.last.at - self.stable_since) if self.last else 0.0

    def shot(self, label: str) -> Screenshot | None:
        if self.last is None:
            return None
        png = self.last.png()
        return Screenshot(label=label, png=png, sha256=hashlib.sha256(png).hexdigest(),
                          frame_sha256=self.last.digest, at=round(self.last.at - self.t0, 3),
                          width=self.last.width, height=self.last.height, colours=tuple(self.last.colours(6)))


def logon(req: RdpLogonRequest, password: str, workdir: Path,
          cancel: threading.Event | None = None) -> RdpLogonResult:
    """Run one logon in ``workdir`` (created; the caller removes it) and decide its outcome.

    ``cancel`` set (from another thread: a stopped run) ends the logon within one poll interval:
    xfreerdp is killed, not asked to close, and the outcome is ``error`` with signal ``cancelled``.
    """
    cancel = cancel or threading.Event()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if shutil.which(XFREERDP) is None:
        return _fail(req, "error", "xfreerdp not found: install the Debian package freerdp2-x11")
    wm_class = f"evidence-kit-{secrets.token_hex(4)}"
    argv = command(req, wm_class)
    run = _Run(req, workdir)
    timings: dict[str, float] = {}
    try:
        display = PrivateDisplay(workdir / "display", req.width, req.height)
        display.start()
    except DisplayError as exc:
        return _fail(req, "error", exc.one_line())
    timings["display"] = round(display.started_in, 3)
    version = client_version(_environment(workdir, display.env()))
    recorder = Recorder(workdir / "logon.mp4", req.width, req.height, 1 / req.poll_interval) if req.record else None
    proc: subprocess.Popen[bytes] | None = None
    outcome = reason = ""
    shots: list[Screenshot] = []
    signals: list[str] = []
    exit_code: int | None = None
    try:
        with open(run.console_path, "wb") as console:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=console, stderr=console,
                                    env=_environment(workdir, display.env()), cwd=workdir, start_new_session=True)
        assert proc.stdin is not None
        try:
            proc.stdin.write(password.encode("utf-8") + b"\n")
            proc.stdin.close()
        except BrokenPipeError:
            pass
        outcome, reason, signals = _watch(run, proc, display, recorder, cancel)
        if outcome:
            run.decided_errors = list(run.log.errors)  # not what our own disconnect makes it log
        if outcome == "login_ok":
            shot = run.shot("desktop")
            if shot:
                shots.append(shot)
            timings["painted"] = round(time.monotonic() - run.t0, 3)
        elif run.last is not None and not run.last.blank:
            shot = run.shot("final")
            if shot:
                shots.append(shot)
        if cancel.is_set():
            _kill(proc)  # a stopped run: no polite close that could wait
            exit_code = proc.returncode
        else:
            exit_code = _end(proc, display, wm_class)
        proc = None
        run.read_log()
        if not outcome:
            outcome, reason = _after_exit(run, exit_code)
    finally:
        if proc is not None:
            _kill(proc)
        if recorder is not None:
            recorder.close()
        display.stop()
    timings["total"] = round(time.monotonic() - run.t0, 3)
    if run.connected_at is not None:
        timings["connected"] = round(run.connected_at, 3)
    return RdpLogonResult(
        outcome=outcome, reason=reason, security=req.security, signals=tuple(signals),
        error_names=tuple(run.log.errors if run.decided_errors is None else run.decided_errors)
        + tuple(n for n, _ in run.log.errinfo),
        logon_errors=tuple(run.log.logon_errors), logon_info=dict(run.log.logon_info), exit_code=exit_code,
        screenshots=tuple(shots), recording=recorder.path if recorder and recorder.ok else None,
        freerdp_log=run.log_path.read_bytes() if run.log_path.exists() else b"",
        console=run.console_path.read_bytes() if run.console_path.exists() else b"", command=tuple(argv),
        timings=timings, client_version=version,
    )


def _watch(run: _Run, proc: subprocess.Popen[bytes], display: PrivateDisplay,
           recorder: Recorder | None, cancel: threading.Event) -> tuple[str, str, list[str]]:
    """Poll log and screen until decided; ``("", "", [])`` when the client exited undecided."""
    req = run.req
    while True:
        if cancel.wait(req.poll_interval):
            return "error", "cancelled: the run was stopped before the logon was decided", ["cancelled"]
        run.read_log()
        if proc.poll() is not None:
            return "", "", []
        try:
            frame = display.grab()
        except Exception:  # noqa: S112 - a grab racing the client's exit; the next poll decides
            continue
        run.observe(frame)
        if recorder is not None:
            recorder.add(frame)
        elapsed = time.monotonic() - run.t0
        log = run.log
        busy = log.session_busy()
        if busy and not req.allow_session_takeover:
            return "error", f"stopped before taking over a session: {busy}", ["session_busy"]
        failed = log.auth_failure()
        if failed:
            return "auth_failed", failed, ["server_logon_error"]
        # Cheap tests first: colours are counted only once the screen has held still.
        painted = log.active and run.stable_for() >= req.settle and not frame.blank
        if painted:
            signals = ["connection_active", "desktop_stable"]
            if req.security == "nla" and log.nla_passed:
                return "login_ok", "NLA accepted the credential and the desktop has painted", \
                    ["nla_authenticated", *signals, *log.logon_signals()]
            if log.logon_signals():
                return "login_ok", "the server confirmed the user session and the desktop has painted", \
                    [*signals, *log.logon_signals()]
        if (not log.logon_signals() and run.stable_for() >= max(req.settle, req.server_screen_hold) and not frame.blank
                and looks_like_xrdp_dialog(frame)):
            return "auth_failed", ("the server kept its own logon screen up (xrdp's login window) and never "
                                   "started the session: the credential was refused"), ["server_logon_screen"]
        if not log.reached("MCS_CONNECT") and elapsed > req.connect_timeout:
            where = log.state.removeprefix("CONNECTION_STATE_").lower()
            return "timeout", f"no connection within {req.connect_timeout:g} s (stuck at {where})", []
        if elapsed > req.logon_timeout:
            what = "the desktop did not settle" if log.active else "the session never became active"
            if log.active and not log.logon_signals() and req.security == "tls":
                what = "the screen settled but the server never confirmed a user session (logon screen?)"
            return "timeout", f"{what} within {req.logon_timeout:g} s", []


def _after_exit(run: _Run, exit_code: int | None) -> tuple[str, str]:
    """The client exited by itself before a decision: read why from its log and exit code."""
    log = run.log
    failed = log.auth_failure()
    if failed:
        return "auth_failed", failed
    if log.certificate_refused or ("ERRCONNECT_TLS_CONNECT_FAILED" in log.errors and not log.reached("MCS_CONNECT")):
        return "certificate_mismatch", ("xfreerdp refused the server's certificate (not the one accepted before): "
                                        "no credential was sent")
    for name in log.errors:
        if name in UNREACHABLE:
            return "unreachable", f"no connection ({name})"
    if "ERRCONNECT_CONNECT_TRANSPORT_FAILED" in log.errors and not (log.reached("NLA") or log.reached("MCS_CONNECT")):
        # FreeRDP connects without blocking: a refused connection shows as a failed first write.
        return "unreachable", "no RDP connection: refused or closed before the security negotiation"
    if "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED" in log.errors:
        return "error", f"the server did not accept security mode {run.req.security}"
    ended = log.ended_by_server()
    if ended:
        return "error", f"the server ended the session before the desktop painted: {ended}"
    names = ", ".join(log.errors) or "no error logged"
    return "error", f"xfreerdp exited with code {exit_code} before the desktop painted ({names})"


def _end(proc: subprocess.Popen[bytes], display: PrivateDisplay, wm_class: str) -> int | None:
    """Disconnect the way a person closing the window does; signals only as a last resort."""
    if proc.poll() is not None:
        return proc.returncode
    try:
        display.close_windows(wm_class)
        return proc.wait(5)
    except Exception:  # noqa: S110 - fall through to a signal
        pass
    _kill(proc)
    return None


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(3)


def _fail(req: RdpLogonRequest, outcome: str, reason: str) -> RdpLogonResult:
    return RdpLogonResult(outcome=outcome, reason=reason, security=req.security, signals=(), error_names=(),
                          logon_errors=(), logon_info={}, exit_code=None, screenshots=(), recording=None,
                          freerdp_log=b"")
