"""SSH capture driver (paramiko): host key, banner, login, prompt/privilege, identity commands.

Flow per target: TCP connect -> SSH handshake -> host key recorded (and checked against a pin
or known_hosts *before* any credential is sent) -> authentication (key, password, keyboard-
interactive) -> auth banner recorded -> interactive shell recorded as asciicast + text ->
device questions answered (menus) -> prompt and privilege mode detected -> pager off ->
elevation if the profile has it and a secret is given -> identity commands -> clean exit.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence_kit.case.outcome import Outcome
from evidence_kit.drivers.base import Driver, Ending, TargetJob, end
from evidence_kit.drivers.terminal import (
    ChannelClosed,
    Expect,
    ExpectTimeout,
    TerminalRecorder,
    clean_text,
    summarize,
)
from evidence_kit.profiles.ssh import Mode, SshProfile, SshTarget

if TYPE_CHECKING:
    import paramiko

# Algorithms paramiko still offers but a careful client should not, unless a target allows
# legacy (old routers): CBC and 3DES ciphers, MD5 and truncated SHA-1 MACs.
WEAK = {
    "ciphers": ["aes128-cbc", "aes192-cbc", "aes256-cbc", "3des-cbc"],
    "macs": ["hmac-md5", "hmac-md5-96", "hmac-sha1-96"],
}


def ssh_fingerprint(key_bytes: bytes) -> str:
    """OpenSSH's form: SHA256: + unpadded base64 of the SHA-256 of the key blob."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key_bytes).digest()).decode().rstrip("=")


def _expected_mode(profile: SshProfile, override: str | None) -> Mode:
    """The mode the credential should reach: the target's override when it names a mode."""
    names = {m.name for m in profile.modes}
    return profile.mode(override if override in names else profile.expected_mode)


SshJob = TargetJob[SshTarget, SshProfile]


@dataclass
class _Negotiated:
    allowed_legacy: dict[str, list[str]]
    unsupported_legacy: list[str]


class SshDriver(Driver[SshTarget, SshProfile]):

    def capture(self, job: SshJob) -> Ending:
        profile = job.profile
        transport: paramiko.Transport | None = None
        try:
            transport = self._connect(job, profile)
            self._check_host_key(job, transport)
            self._authenticate(job, profile, transport)
            return self._shell(job, profile, transport)
        finally:
            if transport is not None:
                transport.close()

    # -- connection -------------------------------------------------------------------------

    def _connect(self, job: SshJob, profile: SshProfile) -> paramiko.Transport:
        import paramiko

        target, session = job.target, job.session
        host = target.host or ""
        port = target.port or profile.port
        t = target.timeouts
        started = time.monotonic()
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            end(Outcome.UNREACHABLE, f"cannot resolve {host}: {exc.strerror}")
        resolved = [str(i[4][0]) for i in infos]
        session.event("resolved", {"host": host, "port": port, "addresses": resolved})
        try:
            sock = socket.create_connection((host, port), timeout=t.connect)
        except TimeoutError:
            end(Outcome.UNREACHABLE, f"no TCP answer from {host}:{port} within {t.connect:g} s")
        except OSError as exc:
            end(Outcome.UNREACHABLE, f"cannot connect to {host}:{port}: {exc.strerror or exc}")
        peer = sock.getpeername()
        local = sock.getsockname()
        session.event("connected", {"peer": f"{peer[0]}:{peer[1]}", "local": f"{local[0]}:{local[1]}",
                                    "seconds": round(time.monotonic() - started, 3)})
        negotiated = self._algorithms(target.legacy, profile)
        transport = paramiko.Transport(sock, disabled_algorithms=self._disabled(negotiated))
        # A stopped run (Ctrl-C, SIGTERM) closes the connection at once: every blocking read ends.
        session.on_cancel(transport.close)
        transport.banner_timeout = t.banner
        transport.handshake_timeout = t.banner
        transport.auth_timeout = t.auth
        if negotiated.unsupported_legacy:
            session.event("legacy_unsupported", {
                "algorithms": negotiated.unsupported_legacy,
                "note": "requested by the profile's legacy allowance but not offered by this SSH library",
            })
        try:
            # paramiko's own banner/handshake timeouts end a silent server; start_client's
            # timeout is only a backstop (when it runs out first it returns without raising).
            transport.start_client(timeout=t.banner + t.auth)
            if not transport.is_active() or not transport.remote_version:
                raise transport.get_exception() or paramiko.SSHException("Error reading SSH protocol banner")
        except paramiko.SSHException as exc:
            transport.close()
            elapsed = time.monotonic() - started
            text = str(exc)
            if "banner" in text.lower() and elapsed >= t.banner * 0.9:
                end(Outcome.TIMEOUT, f"server accepted TCP but sent no SSH banner within {t.banner:g} s")
            if "no acceptable" in text.lower() or "incompatible" in text.lower():
                end(Outcome.ERROR, f"no common SSH algorithms ({text}); an old device may need legacy: true")
            end(Outcome.ERROR, f"SSH handshake failed: {text}")
        except (EOFError, OSError) as exc:
            transport.close()
            end(Outcome.ERROR, f"connection closed during SSH handshake: {exc}")
        session.event("ssh_handshake", {
            "server_version": summarize(transport.remote_version or ""),
            "cipher": transport.remote_cipher, "mac": transport.remote_mac,
            "host_key_type": transport.host_key_type,
            "legacy_allowed": negotiated.allowed_legacy,
        })
        return transport

    @staticmethod
    def _algorithms(legacy: bool, profile: SshProfile) -> _Negotiated:
        import paramiko

        known = {
            "ciphers": set(paramiko.Transport._cipher_info),
            "macs": set(paramiko.Transport._mac_info),
            "kex": set(paramiko.Transport._kex_info),
            "keys": set(paramiko.Transport._key_info),
        }
        allowed: dict[str, list[str]] = {}
        unsupported: list[str] = []
        if legacy:
            wanted = {"ciphers": profile.legacy.ciphers, "macs": profile.legacy.macs,
                      "kex": profile.legacy.kex, "keys": profile.legacy.host_key_types + profile.legacy.pubkey_types}
            for family, names in wanted.items():
                for name in names:
                    (allowed.setdefault(family, []) if name in known[family] else unsupported).append(name)
        return _Negotiated(allowed, sorted(set(unsupported)))

    @staticmethod
    def _disabled(negotiated: _Negotiated) -> dict[str, list[str]]:
        return {
            family: [n for n in names if n not in negotiated.allowed_legacy.get(family, [])]
            for family, names in WEAK.items()
        }

    # -- identity of the far end ----------------------------------------------------------------

    def _check_host_key(self, job: SshJob, transport: paramiko.Transport) -> None:
        import paramiko

        target, session = job.target, job.session
        key = transport.get_remote_server_key()
        blob = key.asbytes()
        fp = ssh_fingerprint(blob)
        session.set_identity(host_key=fp, host_key_type=key.get_name())
        session.add_artifact(
            "host_key.pub", f"{key.get_name()} {key.get_base64()}\n".encode(), kind="host_key",
            media_type="text/plain", fingerprint=fp,
        )
        session.event("host_key", {"type": key.get_name(), "fingerprint": fp,
                                   "md5": hashlib.md5(blob).hexdigest()})
        expected: str | None = None
        source = ""
        if target.host_key:
            expected, source = target.host_key, "inventory host_key"
        elif target.known_hosts:
            source = f"known_hosts {target.known_hosts}"
            try:
                known = paramiko.HostKeys(str(Path(target.known_hosts).expanduser()))
            except OSError as exc:
                end(Outcome.ERROR, f"cannot read known_hosts {target.known_hosts}: {exc}")
            port = target.port or 22
            lookup = target.host if port == 22 else f"[{target.host}]:{port}"
            entry = known.lookup(lookup or "") or {}
            match = entry.get(key.get_name())
            if match is None and entry:
                match = next(iter(entry.values()))
            expected = ssh_fingerprint(match.asbytes()) if match is not None else "(host not in known_hosts)"
        if expected is None:
            session.event("host_key_check", {"result": "not pinned", "fingerprint": fp})
            return
        ok = expected.rstrip("=") == fp
        session.event("host_key_check", {"result": "match" if ok else "mismatch", "expected": expected,
                                         "presented": fp, "source": source})
        if not ok:
            end(
                Outcome.HOST_KEY_MISMATCH,
                f"host key {fp} does not match {source} ({expected}); no credential was sent",
            )

    # -- authentication ---------------------------------------------------------------------------

    def _authenticate(self, job: SshJob, profile: SshProfile, transport: paramiko.Transport) -> None:
        import paramiko

        target, session = job.target, job.session
        username = (target.username or "") + profile.username_suffix
        password = job.session.secret("password")
        methods_tried: list[str] = []
        try:
            if target.key_file is not None:
                methods_tried.append("publickey")
                key = self._load_key(job)
                session.event("auth_attempt", {"method": "publickey", "username": username,
                                               "key_fingerprint": ssh_fingerprint(key.asbytes())})
                try:
                    transport.auth_publickey(username, key)
                except paramiko.AuthenticationException:
                    if password is None:
                        raise
            if not transport.is_authenticated() and password is not None:
                methods_tried.append("password")
                session.event("auth_attempt", {"method": "password", "username": username})
                try:
                    transport.auth_password(username, password.reveal(), fallback=False)
                except paramiko.BadAuthenticationType as exc:
                    if "keyboard-interactive" not in exc.allowed_types:
                        raise
                    methods_tried.append("keyboard-interactive")
                    session.event("auth_attempt", {"method": "keyboard-interactive", "username": username})
                    transport.auth_interactive(username, self._kbd_handler(password.reveal(), session))
        except paramiko.BadAuthenticationType as exc:
            self._record_banner(job, transport)
            end(
                Outcome.AUTH_FAILED, f"server refused the method(s) {methods_tried}; it allows {exc.allowed_types}"
            )
        except paramiko.AuthenticationException as exc:
            self._record_banner(job, transport)
            methods = ", ".join(methods_tried)
            end(Outcome.AUTH_FAILED, f"authentication failed for {username} ({methods}): {exc}")
        except paramiko.SSHException as exc:
            self._record_banner(job, transport)
            if "timeout" in str(exc).lower() or "timed out" in str(exc).lower():
                end(Outcome.TIMEOUT, f"no authentication answer within {target.timeouts.auth:g} s")
            end(Outcome.ERROR, f"authentication error: {exc}")
        except (EOFError, OSError) as exc:
            self._record_banner(job, transport)
            end(Outcome.ERROR, f"connection lost during authentication: {exc}")
        self._record_banner(job, transport)
        session.event("auth", {"result": "accepted", "username": username, "methods": methods_tried})
        session.set_identity(account=username)

    @staticmethod
    def _kbd_handler(password: str, session: Any):
        def handler(title: str, instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
            session.event("auth_prompts", {"title": summarize(title), "instructions": summarize(instructions),
                                           "prompts": [summarize(p) for p, _ in prompts]})
            # Hidden prompts get the password; anything else (a visible question) gets nothing.
            return [password if not echo else "" for _, echo in prompts]

        return handler

    def _load_key(self, job: SshJob) -> paramiko.PKey:
        import paramiko

        path = str(Path(job.target.key_file or "").expanduser())
        passphrase = job.session.secret("key_passphrase")
        try:
            return paramiko.PKey.from_path(path, password=passphrase.reveal().encode() if passphrase else None)
        except (OSError, paramiko.SSHException, ValueError) as exc:
            end(Outcome.ERROR, f"cannot load key_file {path}: {type(exc).__name__}")

    def _record_banner(self, job: SshJob, transport: paramiko.Transport) -> None:
        banner = transport.get_banner()
        if not banner or job.session.identity.get("banner_sha256"):
            return
        raw = banner if isinstance(banner, bytes) else str(banner).encode("utf-8", "replace")
        record = job.session.add_artifact("banner.txt", raw, kind="banner", media_type="text/plain")
        job.session.set_identity(banner_sha256=record.sha256)
        job.session.event("banner", {"bytes": len(raw), "preview": summarize(raw.decode("utf-8", "replace"), 500)})

    # -- the shell ----------------------------------------------------------------------------------

    def _shell(self, job: SshJob, profile: SshProfile, transport: paramiko.Transport) -> Ending:
        session, target = job.session, job.target
        channel = transport.open_session(timeout=target.timeouts.command)
        channel.get_pty(term="vt100", width=profile.terminal_width, height=profile.terminal_height)
        channel.invoke_shell()
        title = f"{session.case.case_id} / {target.name} ({profile.name}) {target.username}@{session.address}"
        with session.artifact("session.cast", kind="asciicast", media_type="application/x-asciicast") as cast, \
                session.artifact("session.txt", kind="transcript", media_type="text/plain") as text:
            recorder = TerminalRecorder(cast, text, session.redactor, profile.terminal_width,
                                        profile.terminal_height, title)
            try:
                return self._converse(job, profile, Expect(channel, recorder, profile.line_ending), recorder)
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
