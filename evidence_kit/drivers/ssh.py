"""SSH capture driver (paramiko): host key, banner, login, prompt/privilege, identity commands.

Flow per target: the route (direct TCP, or proxy and jump hosts: evidence_kit/route/) -> SSH
handshake -> host key recorded (and checked against a pin or known_hosts *before* any
credential is sent) -> authentication (key, agent, password, keyboard-interactive) -> auth
banner recorded -> interactive shell recorded as asciicast + text -> device questions answered
(menus) -> prompt and privilege mode detected -> pager off -> elevation if the profile has it
and a secret is given -> identity commands -> clean exit. Handshake, host key check and
authentication live in route/sshlink.py, shared with the hops. A ``transport: telnet`` target
has the same conversation over telnet (drivers/telnet.py).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from evidence_kit.case.outcome import Outcome
from evidence_kit.drivers.base import Driver, Ending, RunOptions, TargetJob, end
from evidence_kit.drivers.telnet import TELNET_PORT, telnet_capture
from evidence_kit.drivers.terminal import (
    ChannelClosed,
    Expect,
    ExpectTimeout,
    TerminalRecorder,
    clean_text,
    summarize,
)
from evidence_kit.profiles.ssh import Mode, SshProfile, SshTarget
from evidence_kit.route.dial import RouteDialer
from evidence_kit.route.model import HostKeyPolicy, SshLogin
from evidence_kit.route.sshlink import (  # noqa: F401 - WEAK, ssh_fingerprint: this module's names too
    WEAK,
    Link,
    authenticate,
    check_host_key,
    handshake,
    legacy_algorithms,
    ssh_fingerprint,
)

if TYPE_CHECKING:
    import paramiko


def _expected_mode(profile: SshProfile, override: str | None) -> Mode:
    """The mode the credential should reach: the target's override when it names a mode."""
    names = {m.name for m in profile.modes}
    return profile.mode(override if override in names else profile.expected_mode)


SshJob = TargetJob[SshTarget, SshProfile]


class SshDriver(Driver[SshTarget, SshProfile]):

    def __init__(self, options: RunOptions) -> None:
        super().__init__(options)
        self.routes = RouteDialer()  # the run's jump-host connections, shared (route/pool.py)

    def capture(self, job: SshJob) -> Ending:
        profile, target = job.profile, job.target
        transport: paramiko.Transport | None = None
        route = self.routes.open(job.session, target.route, target.timeouts)
        try:
            port = target.port or (TELNET_PORT if target.transport == "telnet" else profile.port)
            sock = route.connect(target.host or "", port)
            if target.transport == "telnet":
                return telnet_capture(self, job, sock)
            transport = self._connect(job, profile, sock, port)
            return self._shell(job, profile, transport)
        finally:
            if transport is not None:
                transport.close()
            route.close()

    def close(self) -> None:
        self.routes.close()

    # -- connection, identity of the far end, authentication (route/sshlink.py) ------------------

    def _connect(self, job: SshJob, profile: SshProfile, sock: Any, port: int) -> paramiko.Transport:
        target = job.target
        link = Link(job.session, target.host or "", port)
        transport = handshake(link, sock, target.timeouts, legacy_algorithms(profile.legacy if target.legacy else None))
        check_host_key(link, HostKeyPolicy(target.host_key, (target.known_hosts,) if target.known_hosts else ()))
        login = SshLogin(target.username or "", "password" if target.password else None,
                         (target.key_file,) if target.key_file else (),
                         "key_passphrase" if target.key_passphrase else None, target.key == "agent")
        authenticate(link, login, target.timeouts, profile.username_suffix)
        return transport

    # -- the shell ----------------------------------------------------------------------------------

    def _shell(self, job: SshJob, profile: SshProfile, transport: paramiko.Transport) -> Ending:
        channel = transport.open_session(timeout=job.target.timeouts.command)
        channel.get_pty(term="vt100", width=profile.terminal_width, height=profile.terminal_height)
        channel.invoke_shell()
        return self.record_session(job, profile, channel)

    def record_session(self, job: SshJob, profile: SshProfile, channel: Any,
                       login: Callable[[Expect, TerminalRecorder], None] | None = None) -> Ending:
        """The recorded conversation on an open shell ``channel`` (SSH, or telnet with its ``login``)."""
        session, target = job.session, job.target
        title = f"{session.case.case_id} / {target.name} ({profile.name}) {target.username}@{session.address}"
        with session.artifact("session.cast", kind="asciicast", media_type="application/x-asciicast") as cast, \
                session.artifact("session.txt", kind="transcript", media_type="text/plain") as text:
            recorder = TerminalRecorder(cast, text, session.redactor, profile.terminal_width,
                                        profile.terminal_height, title)
            try:
                term = Expect(channel, recorder, profile.line_ending)
                if login is not None:
                    login(term, recorder)
                return self._converse(job, profile, term, recorder)
            finally:
                recorder.close()
                with contextlib.suppress(OSError, EOFError):  # the device may have hung up first
                    channel.close()

    def _converse(
        self, job: SshJob, profile: SshProfile, term: Expect, recorder: TerminalRecorder
    ) -> Ending:
        session, target = job.session, job.target
        t = target.timeouts
        modes = {m.name: re.compile(m.pattern) for m in profile.modes}
        failures = {f"auth_failure_{i}": re.compile(p) for i, p in enumerate(profile.auth_failure_patterns)}
        pager = re.compile(profile.pager.pattern) if profile.pager else None

        def page() -> None:
            assert profile.pager is not None
            term.send(profile.pager.send)

        # Device questions before the first prompt (menus, "Press any key").
        pending = list(profile.on_connect)
        recorder.marker("login")
        while True:
            questions = {f"q{i}": re.compile(q.expect) for i, q in enumerate(pending)}
            try:
                found = term.expect({**questions, **failures, **modes}, t.auth, "prompt after login")
            except ExpectTimeout as exc:
                end(Outcome.TIMEOUT, f"logged in but {exc}; last line: {summarize(exc.tail, 200)!r}")
            except ChannelClosed as exc:
                end(Outcome.ERROR, f"logged in but {exc} before a prompt")
            if found.name.startswith("auth_failure_"):
                term.take()
                end(Outcome.AUTH_FAILED, f"device refused the login: {summarize(found.match.group(0), 200)!r}")
            if found.name.startswith("q"):
                q = pending.pop(int(found.name[1:]))
                term.take()
                session.event("interaction", {"question": summarize(found.match.group(0), 200), "answer": q.send})
                term.send(q.send) if q.raw else term.send_line(q.send)
                continue
            break
        mode = found.name
        login_output = term.take()
        session.event("prompt", {"mode": mode, "prompt": summarize(found.match.group(0).strip(), 200)})
        recorder.marker(f"prompt: {mode}")

        def run(command: str, purpose: str) -> tuple[str, str]:
            """Send one command; return (output, mode after it)."""
            recorder.marker(f"{purpose}: {command}")
            term.send_line(command)
            try:
                got = term.expect(modes, t.command, f"prompt after '{command}'", on_pager=page, pager=pager)
            except ExpectTimeout as exc:
                session.event("command", {"command": command, "purpose": purpose, "result": "timeout",
                                          "detail": str(exc)})
                raise
            output = clean_text(term.take())
            failed = [p for p in profile.failure_patterns if re.search(p, output)]
            session.event("command", {
                "command": command, "purpose": purpose, "result": "error" if failed else "ok",
                "output_lines": output.count("\n"), "mode": got.name,
                **({"error": summarize(re.search(failed[0], output).group(0), 200)} if failed else {}),  # type: ignore[union-attr]
            })
            return output, got.name

        try:
            for command in profile.on_open:
                _, mode = run(command, "setup")
            mode = self._elevate(job, profile, term, modes, mode, recorder)
            for command in profile.identity_commands:
                _, mode = run(command, "identity")
        except ExpectTimeout as exc:
            detail = f"logged in ({mode}) but {exc}"
            return Ending(Outcome.TIMEOUT, detail)
        except ChannelClosed as exc:
            end(Outcome.ERROR, f"logged in ({mode}) but {exc}")
        finally:
            del login_output

        reached = profile.mode(mode)
        expected = _expected_mode(profile, target.expected)
        session.set_identity(mode=reached.name, privilege=reached.privilege, expected_mode=expected.name)
        self._exit(profile, term, recorder)
        if reached.privilege >= expected.privilege:
            return Ending(Outcome.LOGIN_OK, f"reached mode '{reached.name}' (expected '{expected.name}')")
        return Ending(Outcome.LOGIN_LIMITED, f"reached mode '{reached.name}', below the expected '{expected.name}'")

    def _elevate(
        self, job: SshJob, profile: SshProfile, term: Expect, modes: dict[str, re.Pattern[str]],
        mode: str, recorder: TerminalRecorder,
    ) -> str:
        """Climb to the expected mode if the profile says how and the inventory has the secret."""
        session, t = job.session, job.target.timeouts
        expected = _expected_mode(profile, job.target.expected)
        current = profile.mode(mode)
        for step in sorted(profile.modes, key=lambda m: m.privilege):
            if step.privilege <= current.privilege or step.privilege > expected.privilege or step.enter is None:
                continue
            entry = step.enter
            secret = job.session.secret(entry.secret) if entry.secret else None
            if entry.secret and secret is None:
                session.event("elevation", {"to": step.name, "result": "skipped",
                                            "detail": f"no {entry.secret} in the inventory"})
                break
            recorder.marker(f"elevate: {step.name}")
            term.send_line(entry.command)
            asked = {"secret": re.compile(entry.secret_prompt), **modes}
            got = term.expect(asked, t.command, f"answer to '{entry.command}'")
            if got.name == "secret":
                term.take()
                if secret is not None:
                    term.send_line(secret.reveal(), secret=True)
                else:  # a password the profile did not expect: answer empty, never guess
                    term.send_line("")
                got = term.expect(asked, t.command, f"prompt after '{entry.command}'")
                # Asked again: the secret was refused. Real devices ask up to three times; answer
                # the rest with empty lines (never the secret again) until a prompt comes back.
                tries = 0
                while got.name == "secret" and tries < 5:
                    tries += 1
                    term.take()
                    term.send_line("")
                    got = term.expect(asked, t.command, f"prompt after refused '{entry.command}'")
                if got.name == "secret":
                    raise ExpectTimeout(f"prompt after refused '{entry.command}'", t.command, "")
            term.take()
            ok = profile.mode(got.name).privilege >= step.privilege
            session.event("elevation", {"to": step.name, "command": entry.command,
                                        "result": "ok" if ok else "refused", "mode": got.name})
            current = profile.mode(got.name)
            if not ok:
                break
        return current.name

    @staticmethod
    def _exit(profile: SshProfile, term: Expect, recorder: TerminalRecorder) -> None:
        recorder.marker("logout")
        for command in profile.exit_commands:
            try:
                term.send_line(command)
                term.expect({"any": re.compile(r"$^")}, 0.6, "close")
            except (ExpectTimeout, ChannelClosed):
                # The device hanging up on 'exit' is the normal end; the login is already proven.
                return
