"""RDP driver (profile kind ``rdp``, built-in ``windows_rdp``): the logged-on desktop as evidence.

One target, in this order (the layers are this package's other modules):

1. The negotiation probe (negotiate.py): the security mode the server picks and its TLS
   certificate, with no user name or password sent. The chain is kept as an artifact and
   judged like web and LDAP certificates (evidence_kit/drivers/tls.py: pin, system trust,
   ``allow_self_signed``); a refusal ends the target as ``certificate_mismatch``, and so does a
   profile that demands NLA from a server that does not pick it (``error``): nothing is sent.
2. The logon (freerdp.py): xfreerdp on a private Xvfb, the password on its standard input,
   that very certificate pinned, the security mode forced. A stopped run (Ctrl-C) kills it and
   its display at once through the session's cancel hook.
3. The evidence, whatever the outcome: the desktop screenshot (original PNG and stamped copy,
   through evidence_kit/case/screenshots.py, as the web driver does), or what the screen showed
   when the logon failed; optionally an MP4 of the logon; FreeRDP's log and console as text
   artifacts, which pass the session's redactor like every text; a JSON record of everything
   decided; journal events ``rdp_negotiation``, ``tls``, ``rdp_logon``.

The client's work folder (Xauthority cookie, raw log) lives outside the case and is removed
when the target ends: only redacted copies reach the case.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evidence_kit.case.outcome import Outcome
from evidence_kit.case.screenshots import add_screenshot
from evidence_kit.drivers.base import Driver, Ending, RunOptions, TargetEnded, TargetJob, end
from evidence_kit.drivers.rdp.freerdp import XFREERDP, RdpLogonRequest, RdpLogonResult, logon
from evidence_kit.drivers.rdp.negotiate import RdpProbe, RdpProbeError, probe
from evidence_kit.drivers.tls import judge_and_record
from evidence_kit.errors import EvidenceKitError
from evidence_kit.profiles._windows import WindowsAccount
from evidence_kit.profiles.rdp import RdpProfile, RdpTarget

RECORD_FORMAT = "evidence-kit-rdp/1"
PROBE_OUTCOMES = {"unreachable": Outcome.UNREACHABLE, "timeout": Outcome.TIMEOUT, "refused": Outcome.ERROR,
                  "protocol": Outcome.ERROR}
SHOT_KINDS = {"desktop": "desktop", "final": "failure"}  # the layer's label -> the profile's screenshots entry
SECURITY_WORDS = {"nla": "NLA (CredSSP)", "tls": "TLS without NLA"}

RdpJob = TargetJob[RdpTarget, RdpProfile]


class RdpClientMissing(EvidenceKitError):
    """xfreerdp or Xvfb is not installed: no RDP target of the run could be captured."""


@dataclass(frozen=True)
class _Settings:
    host: str
    port: int
    account: WindowsAccount
    security: str  # auto | nla | tls
    takeover: bool
    connect_timeout: float
    logon_timeout: float

    @property
    def where(self) -> str:
        return f"rdp://{self.host}:{self.port} as {self.account.display}"


def _settings(job: RdpJob) -> _Settings:
    target, profile = job.target, job.profile
    given = target.timeouts.model_fields_set
    connect = target.timeouts.connect if "connect" in given else profile.timeouts.connect
    logon_timeout = target.timeouts.login if "login" in given else profile.timeouts.logon
    takeover = profile.allow_session_takeover if target.allow_session_takeover is None \
        else target.allow_session_takeover
    return _Settings(host=target.host or "", port=target.port or profile.port, account=target.account(),
                     security=target.security or profile.security, takeover=takeover,
                     connect_timeout=connect, logon_timeout=max(logon_timeout, connect))


@dataclass
class _Capture:
    job: RdpJob
    settings: _Settings
    record: dict[str, Any] = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)

    def run(self) -> Ending:
        s, session = self.settings, self.job.session
        self.record.update({
            "format": RECORD_FORMAT, "target": self.job.target.name, "profile": self.job.profile.name,
            "host": s.host, "port": s.port, "account": s.account.display, "account_form": s.account.form,
            "security_requested": s.security, "allow_session_takeover": s.takeover,
        })
        session.set_identity(account=s.account.display)
        password = session.secret("password")
        if password is None or not password.reveal():
            end(Outcome.ERROR, "empty password: nothing to log on with")
        session.on_cancel(self.cancel.set)  # a stopped run kills xfreerdp and its display at once
        seen = self._probe()
        self._check_certificate(seen)
        if s.security == "nla" and seen.security != "nla":
            end(Outcome.ERROR, "the profile requires NLA, but the server picked TLS without it (its own logon "
                "screen would check the password inside the session): nothing was sent")
        session.set_identity(security=seen.security)
        result = self._logon(seen, password.reveal())
        return self._ending(result)

    def _probe(self) -> RdpProbe:
        s, session = self.settings, self.job.session
        request = "tls" if s.security == "tls" else "nla"
        try:
            seen = probe(s.host, s.port, request=request, timeout=s.connect_timeout)
        except RdpProbeError as exc:
            facts = {"host": s.host, "port": s.port, "requested": request, "ok": False, "failure": exc.kind,
                     "error": exc.one_line()}
            session.event("rdp_negotiation", facts)
            self.record["negotiation"] = facts
            end(PROBE_OUTCOMES.get(exc.kind, Outcome.ERROR), exc.one_line())
        facts = {k: v for k, v in seen.record().items() if k != "tls"}
        facts.update({"ok": True, "requested": request})
        session.event("rdp_negotiation", facts)
        self.record["negotiation"] = facts
        return seen

    def _check_certificate(self, seen: RdpProbe) -> None:
        target, session = self.job.target, self.job.session
        info = seen.tls
        decision, facts = judge_and_record(session, info, target.certificate, target.allow_self_signed,
                                           "rdp-certificate-chain.pem")
        self.record["tls"] = facts
        if not decision.accepted:
            end(Outcome.CERTIFICATE_MISMATCH, f"{decision.reason}; no user name or password was sent")

    def _logon(self, seen: RdpProbe, password: str) -> RdpLogonResult:
        s, profile = self.settings, self.job.profile
        req = RdpLogonRequest(
            s.host, s.port, s.account.display, seen.security, seen.tls.leaf_sha256,
            width=profile.width, height=profile.height, connect_timeout=s.connect_timeout,
            logon_timeout=s.logon_timeout, settle=profile.settle, server_screen_hold=profile.logon_screen_hold,
            record=profile.record_video, allow_session_takeover=s.takeover, client_hostname=profile.client_hostname,
        )
        self.record["request"] = asdict(req)
        work = Path(tempfile.mkdtemp(prefix="ekt-rdp-"))
        try:
            result = logon(req, password, work / "run", cancel=self.cancel)
            self._keep(result, work / "run")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return result

    def _keep(self, result: RdpLogonResult, work: Path) -> None:
        """Everything the logon left, into the case (text through the redactor), before ``work`` goes."""
        session, profile = self.job.session, self.job.profile
        where = session.redactor.redact_text(self.settings.where)
        shots: list[dict[str, Any]] = []
        for shot in result.screenshots:
            if SHOT_KINDS.get(shot.label) not in profile.screenshots:
                continue
            records = add_screenshot(session, shot.png, shot.label, where, len(shots) + 1)
            shots.append({"label": shot.label, "path": records.original.path, "sha256": shot.sha256,
                          "frame_sha256": shot.frame_sha256, "at_s": shot.at, "width": shot.width,
                          "height": shot.height,
                          "colours": [[round(share, 4), list(rgb)] for share, rgb in shot.colours]})
        self.record["screenshots"] = shots
        if profile.record_video:
            self._keep_video(result, work)
        if result.freerdp_log:
            session.add_artifact("freerdp.log", result.freerdp_log, kind="rdp_client_log",
                                 media_type="text/plain; charset=utf-8", client=result.client_version)
        if result.console:
            session.add_artifact("freerdp-console.txt", result.console, kind="rdp_client_console",
                                 media_type="text/plain; charset=utf-8")
        facts = {
            "outcome": result.outcome, "reason": result.reason, "security": result.security,
            "signals": list(result.signals), "errors": list(result.error_names),
            "logon_errors": [list(e) for e in result.logon_errors], "server_logon": result.logon_info,
            "exit_code": result.exit_code, "timings": result.timings, "client": result.client_version,
            "command": list(result.command), "screenshots": len(shots),
        }
        session.event("rdp_logon", facts)
        self.record["logon"] = facts
        if result.logon_info.get("session_id"):
            session.set_identity(server_session=result.logon_info["session_id"])

    def _keep_video(self, result: RdpLogonResult, work: Path) -> None:
        session = self.job.session
        if result.recording is None or not result.recording.exists():
            log = work / "logon.ffmpeg.log"
            why = log.read_text(errors="replace").strip()[-300:] if log.exists() else ""
            session.event("video", {"recorded": False, "reason": why or "no frame was recorded"})
            return
        with session.artifact("logon.mp4", kind="video", media_type="video/mp4", redact=False) as out, \
                open(result.recording, "rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)

    def _ending(self, result: RdpLogonResult) -> Ending:
        s = self.settings
        mode = SECURITY_WORDS.get(result.security, result.security)
        outcome = Outcome(result.outcome)
        if outcome is Outcome.LOGIN_OK:
            return Ending(outcome, f"logged on as {s.account.display} over {mode}; {result.reason}")
        if outcome is Outcome.AUTH_FAILED:
            return Ending(outcome, f"logon of {s.account.display} refused over {mode}: {result.reason}")
        return Ending(outcome, result.reason)


class RdpDriver(Driver[RdpTarget, RdpProfile]):
    @classmethod
    def preflight(cls, options: RunOptions) -> None:
        missing = [tool for tool in (XFREERDP, "Xvfb") if shutil.which(tool) is None]
        if missing:
            raise RdpClientMissing(f"RDP targets need {' and '.join(missing)}: install the Debian packages "
                                   "freerdp2-x11 and xvfb (ffmpeg too, for record_video)")

    def capture(self, job: RdpJob) -> Ending:
        run = _Capture(job, _settings(job))
        try:
            ending = run.run()
        except TargetEnded as ended:
            ending = ended.ending
        except Exception as exc:  # failures are evidence: keep the record so far
            ending = Ending(Outcome.ERROR, f"{type(exc).__name__}: {exc}")
        run.record["outcome"] = {"outcome": ending.outcome.value, "detail": ending.detail}
        job.session.add_artifact("rdp-record.json", json.dumps(run.record, indent=2, default=str).encode() + b"\n",
                                 kind="rdp_record", media_type="application/json")
        return ending
