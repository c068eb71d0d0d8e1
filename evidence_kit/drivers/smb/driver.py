"""SMB driver (profile kind ``smb``, built-in ``windows_smb``): administrative rights by admin share.

One target = one SMB connection (probe.py does the protocol): negotiate, the server's names from
its NTLM challenge, the NTLM session setup, a tree connect per share (the profile's ``shares``,
then its ``admin_shares``), logoff. ``login_ok`` when an administrative share opens (or, with
``expected: logon``, when the logon works), ``login_limited`` when only other shares do.

Evidence: a timestamped text transcript of every exchange as it ended (never the password: it
goes to pyspnego only), a JSON record of the proof, journal events ``smb_negotiate``,
``smb_server``, ``smb_session`` and one ``smb_tree_connect`` per share, and the server's name,
domain, dialect and signing in the target's identity. A stopped run disconnects the connection
through the session's cancel hook.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from evidence_kit.case.journal import utc_now
from evidence_kit.case.outcome import Outcome
from evidence_kit.drivers.base import Driver, Ending, TargetEnded, TargetJob, end
from evidence_kit.drivers.smb.probe import SmbProof, prove
from evidence_kit.profiles.smb import SmbProfile, SmbTarget

RECORD_FORMAT = "evidence-kit-smb/1"
EVENTS = {"negotiate": "smb_negotiate", "ntlm_challenge": "smb_server", "session_setup": "smb_session",
          "tree_connect": "smb_tree_connect", "logoff": "smb_logoff"}

SmbJob = TargetJob[SmbTarget, SmbProfile]


@dataclass
class _Capture:
    job: SmbJob
    lines: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)

    def note(self, step: str, facts: dict[str, Any]) -> None:
        """One exchange ended: a transcript line with the time, a journal event, a record entry."""
        when = utc_now()
        self.steps.append({"at": when, "step": step, **facts})
        shown = ", ".join(f"{k}={v}" for k, v in facts.items() if v not in (None, ""))
        self.lines.append(f"{when}  {step:<15} {shown}")
        event = EVENTS.get(step)
        if event:
            self.job.session.event(event, facts)

    def run(self) -> tuple[Ending, SmbProof | None]:
        target, profile, session = self.job.target, self.job.profile, self.job.session
        account = target.account()
        session.set_identity(account=account.display)
        password = session.secret("password")
        if password is None or not password.reveal():
            end(Outcome.ERROR, "empty password: an SMB session with it would be anonymous or a guest")
        timeout = target.timeouts.connect if "connect" in target.timeouts.model_fields_set else profile.timeout
        port = target.port or profile.port
        self.lines.append(f"{utc_now()}  connect         host={target.host}, port={port}, user={account.display}, "
                          f"shares={', '.join(profile.tried_shares())}, password=[not recorded]")

        def on_connection(conn: Any) -> None:
            session.on_cancel(lambda: conn.disconnect(close=True))

        proof = prove(target.host or "", account.display, password.reveal(), port=port,
                      shares=profile.tried_shares(), timeout=timeout, require_encryption=profile.require_encryption,
                      admin_shares=tuple(profile.admin_shares), trace=self.note, on_connection=on_connection)
        self._identity(proof)
        return self._ending(proof), proof

    def _identity(self, proof: SmbProof) -> None:
        server = proof.server
        facts: dict[str, Any] = {}
        if proof.dialect:
            facts.update(dialect=proof.dialect, signing="required by the server" if proof.server_requires_signing
                         else "offered, not required by the server")
        if proof.session_signed is not None:
            facts["session"] = ("signed" if proof.session_signed else "not signed") + \
                (", encrypted" if proof.session_encrypted else "")
        if server is not None:
            # Both domain names: the report matches CORP\admin with admin@corp.example through them.
            facts.update(server_name=server.dns_computer or server.netbios_computer,
                         server_netbios=server.netbios_computer,
                         server_domain=server.dns_domain or server.netbios_domain,
                         server_netbios_domain=server.netbios_domain)
        if proof.server_guid:
            facts["server_guid"] = proof.server_guid
        opened = [s.share for s in proof.shares if s.ok]
        if proof.shares:
            facts["shares_opened"] = ", ".join(opened) or "none"
            facts["privilege"] = (f"local administrator ({proof.admin_share} opened)" if proof.admin_share
                                  else "no administrative share")
        self.job.session.set_identity(**facts)

    def _ending(self, proof: SmbProof) -> Ending:
        target, profile = self.job.target, self.job.profile
        account = target.account().display
        outcome = Outcome(proof.outcome)
        expected = target.expected or profile.expected
        if outcome is Outcome.LOGIN_LIMITED and expected == "logon":
            return Ending(Outcome.LOGIN_OK, f"{account} logged on (an administrative share was not expected); "
                          f"{proof.reason.removeprefix('logged on, but ')}")
        if outcome is Outcome.AUTH_FAILED:
            return Ending(outcome, f"session setup for {account} refused: {proof.reason}")
        if outcome.credential_worked:
            return Ending(outcome, f"{account} {proof.reason}")
        return Ending(outcome, proof.reason)


class SmbDriver(Driver[SmbTarget, SmbProfile]):
    def capture(self, job: SmbJob) -> Ending:
        run = _Capture(job)
        proof: SmbProof | None = None
        try:
            ending, proof = run.run()
        except TargetEnded as ended:
            ending = ended.ending
        except Exception as exc:  # failures are evidence: keep the transcript so far
            ending = Ending(Outcome.ERROR, f"{type(exc).__name__}: {exc}")
        run.lines.append(f"{utc_now()}  outcome         {ending.outcome.value}: {ending.detail}")
        job.session.add_artifact("smb-transcript.txt", ("\n".join(run.lines) + "\n").encode(),
                                 kind="smb_transcript", media_type="text/plain; charset=utf-8")
        record = {"format": RECORD_FORMAT, "target": job.target.name, "profile": job.profile.name,
                  "proof": proof.record() if proof else None, "steps": run.steps,
                  "outcome": {"outcome": ending.outcome.value, "detail": ending.detail}}
        job.session.add_artifact("smb-record.json", json.dumps(record, indent=2, default=str).encode() + b"\n",
                                 kind="smb_record", media_type="application/json")
        return ending
