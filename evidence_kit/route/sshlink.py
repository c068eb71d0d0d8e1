"""What every SSH connection does, once: handshake, host key check, authentication.

Used for each hop of a route (route/dial.py) and for the target's own connection
(drivers/ssh.py), so the order that makes the evidence hold is written once: the server's host
key is recorded and judged (pin, else known_hosts) **before** any credential is sent — to a hop
or to anything beyond it — and authentication tries key, agent keys, password and keyboard-
interactive in that order, never the technician's other keys (``allow_agent``/``look_for_keys``
are never in play: paramiko's Transport is driven directly).

A :class:`Link` says whose connection it is: the target itself (events ``host_key``,
``host_key_check``, ``auth_attempt``, ``auth``... as the journal has always had them) or a hop
(the same events prefixed ``hop_`` and carrying ``hop: NAME``); every failure ends the target
(:func:`~evidence_kit.drivers.base.end`) with a detail that names the hop.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence_kit.case.outcome import Outcome
from evidence_kit.drivers.base import end
from evidence_kit.drivers.terminal import summarize
from evidence_kit.route.model import HostKeyPolicy, SshLogin

if TYPE_CHECKING:
    import socket

    import paramiko

    from evidence_kit.case.session import TargetSession
    from evidence_kit.profiles.target import Timeouts

# Algorithms paramiko still offers but a careful client should not, unless a target allows
# legacy (old routers): CBC and 3DES ciphers, MD5 and truncated SHA-1 MACs.
WEAK = {
    "ciphers": ["aes128-cbc", "aes192-cbc", "aes256-cbc", "3des-cbc"],
    "macs": ["hmac-md5", "hmac-md5-96", "hmac-sha1-96"],
}


class _OpenFailures(logging.Handler):
    """The reason a hop gave for refusing a ``direct-tcpip`` channel, per transport log channel.

    paramiko raises ``ChannelException(2, 'Connect failed')`` for every refusal and logs the
    server's own words ("Connection refused", "Temporary failure in name resolution") in a log
    record only; this handler keeps the last one per hop transport until it is taken.
    """

    channel = "paramiko.transport.route"

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self._last: dict[str, str] = {}
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(self.channel + "."):
            return
        text = record.getMessage()
        if "open FAILED:" in text:
            reason = text.split("open FAILED:", 1)[1].rsplit(":", 1)[0].strip()
            with self._guard:
                self._last[record.name] = reason

    def take(self, transport: Any) -> str | None:
        with self._guard:
            return self._last.pop(transport.get_log_channel(), None)


OPEN_FAILURES = _OpenFailures()
logging.getLogger("paramiko.transport").addHandler(OPEN_FAILURES)
_channels = itertools.count(1)


def ssh_fingerprint(key_bytes: bytes) -> str:
    """OpenSSH's form: SHA256: + unpadded base64 of the SHA-256 of the key blob."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key_bytes).digest()).decode().rstrip("=")


@dataclass(frozen=True)
class Negotiated:
    allowed_legacy: dict[str, list[str]] = field(default_factory=dict)
    unsupported_legacy: list[str] = field(default_factory=list)

    def disabled(self) -> dict[str, list[str]]:
        return {family: [n for n in names if n not in self.allowed_legacy.get(family, [])]
                for family, names in WEAK.items()}


def legacy_algorithms(legacy: Any | None) -> Negotiated:
    """Which of a profile's legacy algorithms (``profiles.ssh.Legacy``) paramiko can offer."""
    if legacy is None:
        return Negotiated()
    import paramiko

    known = {
        "ciphers": set(paramiko.Transport._cipher_info),
        "macs": set(paramiko.Transport._mac_info),
        "kex": set(paramiko.Transport._kex_info),
        "keys": set(paramiko.Transport._key_info),
    }
    allowed: dict[str, list[str]] = {}
    unsupported: list[str] = []
    wanted = {"ciphers": legacy.ciphers, "macs": legacy.macs, "kex": legacy.kex,
              "keys": legacy.host_key_types + legacy.pubkey_types}
    for family, names in wanted.items():
        for name in names:
            (allowed.setdefault(family, []) if name in known[family] else unsupported).append(name)
    return Negotiated(allowed, sorted(set(unsupported)))


@dataclass
class Link:
    """One SSH connection's evidence: whose it is, where it goes, what it found."""

    session: TargetSession
    host: str
    port: int
    hop: str | None = None  # None: the target's own connection
    transport: paramiko.Transport | None = None
    fingerprint: str = ""
    key_type: str = ""
    key_base64: str = ""
    check: dict[str, Any] = field(default_factory=dict)
    auth: dict[str, Any] = field(default_factory=dict)
    banner_preview: str = ""

    @property
    def who(self) -> str:
        return f"hop '{self.hop}' ({self.host}:{self.port})" if self.hop else ""

    def say(self, text: str) -> str:
        """``text`` for the target, or the same naming the hop."""
        return f"{self.who}: {text}" if self.hop else text

    def event(self, name: str, data: dict[str, Any]) -> None:
        if self.hop:
            self.session.event(f"hop_{name}", {"hop": self.hop, "address": f"{self.host}:{self.port}", **data})
        else:
            self.session.event(name, data)

    def facts(self) -> dict[str, Any]:
        """The hop's record for the route summary (journal ``route`` event)."""
        return {"hop": self.hop, "address": f"{self.host}:{self.port}", "host_key": self.fingerprint,
                "host_key_type": self.key_type, "host_key_check": self.check.get("result"),
                "host_key_source": self.check.get("source"), "username": self.auth.get("username"),
                "auth_methods": self.auth.get("methods"), "key_fingerprint": self.auth.get("key_fingerprint")}


def handshake(link: Link, sock: Any, timeouts: Timeouts, negotiated: Negotiated | None = None,
              started: float | None = None) -> paramiko.Transport:
    """SSH handshake over ``sock`` (a TCP socket or a hop's channel); ends the target on failure."""
    import paramiko

    negotiated = negotiated or Negotiated()
    started = started if started is not None else time.monotonic()
    transport = paramiko.Transport(sock, disabled_algorithms=negotiated.disabled())
    if link.hop:
        # A log channel of its own, so a refused direct-tcpip open can be told with the hop's
        # reason, which paramiko logs but leaves out of its exception (route/dial.py).
        transport.set_log_channel(f"{OPEN_FAILURES.channel}.{next(_channels)}")
    link.transport = transport
    # A stopped run (Ctrl-C, SIGTERM) closes the connection at once: every blocking read ends.
    link.session.on_cancel(transport.close)
    transport.banner_timeout = timeouts.banner
    transport.handshake_timeout = timeouts.banner
    transport.auth_timeout = timeouts.auth
    if negotiated.unsupported_legacy:
        link.event("legacy_unsupported", {
            "algorithms": negotiated.unsupported_legacy,
            "note": "requested by the profile's legacy allowance but not offered by this SSH library",
        })
    try:
        # paramiko's own banner/handshake timeouts end a silent server; start_client's
        # timeout is only a backstop (when it runs out first it returns without raising).
        transport.start_client(timeout=timeouts.banner + timeouts.auth)
        if not transport.is_active() or not transport.remote_version:
            raise transport.get_exception() or paramiko.SSHException("Error reading SSH protocol banner")
    except paramiko.SSHException as exc:
        transport.close()
        elapsed = time.monotonic() - started
        text = str(exc)
        if "banner" in text.lower() and elapsed >= timeouts.banner * 0.9:
            end(Outcome.TIMEOUT, link.say(f"server accepted TCP but sent no SSH banner within {timeouts.banner:g} s"))
        if "no acceptable" in text.lower() or "incompatible" in text.lower():
            end(Outcome.ERROR, link.say(f"no common SSH algorithms ({text})"
                                        + ("" if link.hop else "; an old device may need legacy: true")))
        end(Outcome.ERROR, link.say(f"SSH handshake failed: {text}"))
    except (EOFError, OSError) as exc:
        transport.close()
        end(Outcome.ERROR, link.say(f"connection closed during SSH handshake: {exc}"))
    link.event("ssh_handshake", {
        "server_version": summarize(transport.remote_version or ""),
        "cipher": transport.remote_cipher, "mac": transport.remote_mac,
        "host_key_type": transport.host_key_type,
        **({} if link.hop else {"legacy_allowed": negotiated.allowed_legacy}),
    })
    return transport


def check_host_key(link: Link, policy: HostKeyPolicy) -> None:
    """Record the server's host key and judge it; a mismatch ends the target before any credential."""
    import paramiko

    assert link.transport is not None
    session = link.session
    key = link.transport.get_remote_server_key()
    blob = key.asbytes()
    fp = ssh_fingerprint(blob)
    link.fingerprint, link.key_type, link.key_base64 = fp, key.get_name(), key.get_base64()
    if link.hop:
        link.event("host_key", {"type": key.get_name(), "fingerprint": fp, "md5": hashlib.md5(blob).hexdigest(),
                                "key": key.get_base64()})
    else:
        session.set_identity(host_key=fp, host_key_type=key.get_name())
        session.add_artifact(
            "host_key.pub", f"{key.get_name()} {key.get_base64()}\n".encode(), kind="host_key",
            media_type="text/plain", fingerprint=fp,
        )
        link.event("host_key", {"type": key.get_name(), "fingerprint": fp, "md5": hashlib.md5(blob).hexdigest()})
    expected: str | None = None
    source = ""
    if policy.pin:
        expected, source = policy.pin, "inventory host_key"
    elif policy.known_hosts:
        source = "known_hosts " + ", ".join(str(p) for p in policy.known_hosts)
        known = paramiko.HostKeys()
        for path in policy.known_hosts:
            try:
                known.load(str(Path(path).expanduser()))
            except OSError as exc:
                end(Outcome.ERROR, link.say(f"cannot read known_hosts {path}: {exc}"))
        lookup = link.host if link.port == 22 else f"[{link.host}]:{link.port}"
        entry = known.lookup(lookup) or {}
        match = entry.get(key.get_name())
        if match is None and entry:
            match = next(iter(entry.values()))
        expected = ssh_fingerprint(match.asbytes()) if match is not None else "(host not in known_hosts)"
    if expected is None:
        link.check = {"result": "not pinned", "fingerprint": fp}
        link.event("host_key_check", link.check)
        return
    ok = expected.rstrip("=") == fp
    link.check = {"result": "match" if ok else "mismatch", "expected": expected, "presented": fp, "source": source}
    link.event("host_key_check", link.check)
    if not ok:
        beyond = "; no credential was sent to it or beyond" if link.hop else "; no credential was sent"
        end(Outcome.HOST_KEY_MISMATCH, link.say(f"host key {fp} does not match {source} ({expected}){beyond}"))


def authenticate(link: Link, login: SshLogin, timeouts: Timeouts, suffix: str = "") -> None:
    """Log in with ``login``'s credentials (session secrets by field name); ends the target if refused."""
    import paramiko

    transport, session = link.transport, link.session
    assert transport is not None
    username = login.username + suffix
    password = session.secret(login.password) if login.password else None
    methods_tried: list[str] = []
    accepted_key: str | None = None
    try:
        for key in _keys(link, login):
            methods_tried.append("publickey")
            fp = ssh_fingerprint(key.asbytes())
            link.event("auth_attempt", {"method": "publickey", "username": username, "key_fingerprint": fp,
                                        **({"key_source": "agent"} if _is_agent_key(key) else {})})
            try:
                transport.auth_publickey(username, key)
            except paramiko.AuthenticationException:
                if transport.is_authenticated():
                    break
                continue
            accepted_key = fp
            if transport.is_authenticated():
                break
        if not transport.is_authenticated() and password is not None:
            methods_tried.append("password")
            link.event("auth_attempt", {"method": "password", "username": username})
            try:
                transport.auth_password(username, password.reveal(), fallback=False)
            except paramiko.BadAuthenticationType as exc:
                if "keyboard-interactive" not in exc.allowed_types:
                    raise
                methods_tried.append("keyboard-interactive")
                link.event("auth_attempt", {"method": "keyboard-interactive", "username": username})
                transport.auth_interactive(username, _kbd_handler(password.reveal(), link))
        if not transport.is_authenticated():
            raise paramiko.AuthenticationException("no credential was accepted")
    except paramiko.BadAuthenticationType as exc:
        record_banner(link)
        end(Outcome.AUTH_FAILED, link.say(f"server refused the method(s) {methods_tried}; it allows "
                                          f"{exc.allowed_types}"))
    except paramiko.AuthenticationException as exc:
        record_banner(link)
        methods = ", ".join(methods_tried)
        end(Outcome.AUTH_FAILED, link.say(f"authentication failed for {username} ({methods}): {exc}"))
    except paramiko.SSHException as exc:
        record_banner(link)
        if "timeout" in str(exc).lower() or "timed out" in str(exc).lower():
            end(Outcome.TIMEOUT, link.say(f"no authentication answer within {timeouts.auth:g} s"))
        end(Outcome.ERROR, link.say(f"authentication error: {exc}"))
    except (EOFError, OSError) as exc:
        record_banner(link)
        end(Outcome.ERROR, link.say(f"connection lost during authentication: {exc}"))
    record_banner(link)
    link.auth = {"result": "accepted", "username": username, "methods": methods_tried,
                 **({"key_fingerprint": accepted_key} if accepted_key else {})}
    link.event("auth", link.auth)
    if not link.hop:
        session.set_identity(account=username, **({"key_fingerprint": accepted_key} if accepted_key else {}))


def _is_agent_key(key: Any) -> bool:
    import paramiko

    return isinstance(key, paramiko.AgentKey)


def _keys(link: Link, login: SshLogin) -> list[paramiko.PKey]:
    """The keys to offer, in order: key files, then (``key: agent``) the agent's keys."""
    import paramiko

    keys: list[paramiko.PKey] = []
    passphrase = link.session.secret(login.key_passphrase) if login.key_passphrase else None
    for path in login.key_files:
        full = str(Path(path).expanduser())
        try:
            keys.append(paramiko.PKey.from_path(full, password=passphrase.reveal().encode() if passphrase else None))
        except (OSError, paramiko.SSHException, ValueError) as exc:
            end(Outcome.ERROR, link.say(f"cannot load key_file {full}: {type(exc).__name__}"))
    if login.agent:
        sock = os.environ.get("SSH_AUTH_SOCK")
        if not sock:
            end(Outcome.ERROR, link.say("key: agent, but SSH_AUTH_SOCK is not set (start ssh-agent and ssh-add "
                                        "the key)"))
        try:
            agent = paramiko.Agent()
            agent_keys = list(agent.get_keys())
        except (OSError, paramiko.SSHException) as exc:
            end(Outcome.ERROR, link.say(f"cannot talk to the SSH agent at SSH_AUTH_SOCK: {exc}"))
        link.session.on_cancel(agent.close)
        link.event("agent", {"keys": [{"fingerprint": ssh_fingerprint(k.asbytes()), "type": k.get_name()}
                                      for k in agent_keys]})
        if not agent_keys:
            end(Outcome.ERROR, link.say("key: agent, but the SSH agent holds no key"))
        keys += agent_keys
    return keys


def _kbd_handler(password: str, link: Link) -> Any:
    def handler(title: str, instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
        link.event("auth_prompts", {"title": summarize(title), "instructions": summarize(instructions),
                                    "prompts": [summarize(p) for p, _ in prompts]})
        # Hidden prompts get the password; anything else (a visible question) gets nothing.
        return [password if not echo else "" for _, echo in prompts]

    return handler


def record_banner(link: Link) -> None:
    """The server's pre-auth banner: an artifact for the target, a preview for a hop."""
    assert link.transport is not None
    banner = link.transport.get_banner()
    session = link.session
    if not banner:
        return
    raw = banner if isinstance(banner, bytes) else str(banner).encode("utf-8", "replace")
    preview = summarize(raw.decode("utf-8", "replace"), 500)
    if link.hop:
        if not link.banner_preview:
            link.banner_preview = preview
            link.event("banner", {"bytes": len(raw), "preview": preview})
        return
    if session.identity.get("banner_sha256"):
        return
    record = session.add_artifact("banner.txt", raw, kind="banner", media_type="text/plain")
    session.set_identity(banner_sha256=record.sha256)
    session.event("banner", {"bytes": len(raw), "preview": preview})


def connect_tcp(session: TargetSession, host: str, port: int, timeout: float) -> socket.socket:
    """A direct TCP connection, as the journal has always recorded it (``resolved``, ``connected``).

    The connect itself watches the run being stopped: a Ctrl-C while a silent address is being
    tried ends the attempt at once instead of after the connect timeout.
    """
    import socket

    started = time.monotonic()
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        end(Outcome.UNREACHABLE, f"cannot resolve {host}: {exc.strerror}")
    resolved = [str(i[4][0]) for i in infos]
    session.event("resolved", {"host": host, "port": port, "addresses": resolved})
    try:
        sock = _connect_cancellable(session, infos, timeout)
    except TimeoutError:
        end(Outcome.UNREACHABLE, f"no TCP answer from {host}:{port} within {timeout:g} s")
    except OSError as exc:
        end(Outcome.UNREACHABLE, f"cannot connect to {host}:{port}: {exc.strerror or exc}")
    session.on_cancel(sock.close)
    peer = sock.getpeername()
    local = sock.getsockname()
    session.event("connected", {"peer": f"{peer[0]}:{peer[1]}", "local": f"{local[0]}:{local[1]}",
                                "seconds": round(time.monotonic() - started, 3)})
    return sock


CANCEL_POLL = 0.1  # seconds between looks at a stopped run while a connect is pending


def _connect_cancellable(session: TargetSession, infos: list[Any], timeout: float) -> socket.socket:
    """socket.create_connection, but non-blocking underneath so a stopped run ends it at once."""
    import errno
    import select
    import socket

    deadline = time.monotonic() + timeout
    last: OSError = OSError("no address to connect to")
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            err = sock.connect_ex(address)
            while err in (errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK):
                if session.cancelled or session.case.cancellation.is_set():
                    end(Outcome.ERROR, "the connect was stopped with the run")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"connect timed out after {timeout:g} s")
                _, ready, _ = select.select([], [sock], [], min(CANCEL_POLL, left))
                if ready:
                    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err == 0:
                sock.settimeout(timeout)
                return sock
            last = OSError(err, os.strerror(err))
        except BaseException:
            sock.close()
            raise
        sock.close()
    raise last
