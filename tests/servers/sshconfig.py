"""Write OpenSSH client configs (``ssh_config``) with Host aliases that point at the test servers.

Issue 12's ``ssh_config:`` support reads HostName, Port, User, IdentityFile, ProxyJump and
UserKnownHostsFile from such a file; the tests need files that OpenSSH itself accepts, so the
smoke test runs the real ``ssh -F CONFIG alias true`` through them. :func:`lab_aliases` gives
the aliases of the jump-host lab (tests/servers/jump.py), all with key authentication:

    jump1                      10.213.N.2          the first hop, reachable from the tests
    jump2    ProxyJump jump1   10.213.N.18
    target   ProxyJump jump1   10.213.N.10
    dropbear ProxyJump jump1   10.213.N.10:2222
    deep     ProxyJump jump2   10.213.N.26         (jump2 itself goes through jump1: two hops)

A ``Host *`` block at the end sets what every alias shares and keeps the config from reaching
anything of the user's: no agent, only the named identity, no global known_hosts, strict host
key checking (ssh_config takes the first value given, so per-alias lines win).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.servers.jump import DropbearTarget, JumpLab
from tests.servers.sshd import SshdTargets


@dataclass(frozen=True)
class HostAlias:
    alias: str
    hostname: str
    port: int = 22
    user: str | None = None
    identity_file: Path | None = None
    proxy_jump: str | None = None  # alias names, comma-separated, as OpenSSH takes them
    known_hosts: Path | None = None  # UserKnownHostsFile
    options: tuple[tuple[str, str], ...] = ()  # more directives, verbatim (e.g. ("ProxyCommand", ...))


def _quote(value: str) -> str:
    return f'"{value}"' if any(c.isspace() for c in value) else value


def render_ssh_config(aliases: Iterable[HostAlias], defaults: Iterable[tuple[str, str]] = ()) -> str:
    lines = ["# evidence-kit test ssh_config (generated)"]
    for a in aliases:
        lines += ["", f"Host {a.alias}", f"    HostName {a.hostname}", f"    Port {a.port}"]
        if a.user:
            lines.append(f"    User {a.user}")
        if a.identity_file:
            lines.append(f"    IdentityFile {_quote(str(a.identity_file))}")
        if a.proxy_jump:
            lines.append(f"    ProxyJump {a.proxy_jump}")
        if a.known_hosts:
            lines.append(f"    UserKnownHostsFile {_quote(str(a.known_hosts))}")
        lines += [f"    {k} {_quote(v)}" for k, v in a.options]
    shared = [
        ("StrictHostKeyChecking", "yes"), ("GlobalKnownHostsFile", "/dev/null"), ("IdentitiesOnly", "yes"),
        ("IdentityAgent", "none"), ("UpdateHostKeys", "no"), ("ConnectTimeout", "10"), *defaults,
    ]
    lines += ["", "Host *", *(f"    {k} {_quote(v)}" for k, v in shared)]
    return "\n".join(lines) + "\n"


def write_ssh_config(path: Path, aliases: Iterable[HostAlias], defaults: Iterable[tuple[str, str]] = ()) -> Path:
    path.write_text(render_ssh_config(aliases, defaults))
    path.chmod(0o600)  # OpenSSH refuses a config others can write ("Bad owner or permissions")
    return path


def lab_aliases(lab: JumpLab) -> list[HostAlias]:
    """Every server of the lab as an alias, logging in with its ``key`` account."""
    servers: tuple[tuple[str, SshdTargets | DropbearTarget, str | None], ...] = (
        ("jump1", lab.jump1, None), ("jump2", lab.jump2, "jump1"), ("target", lab.target, "jump1"),
        ("deep", lab.deep, "jump2"), ("dropbear", lab.dropbear, "jump1"),
    )
    out = []
    for alias, server, jump in servers:
        account = server.account("key")
        out.append(HostAlias(alias, server.host, server.port, account.system_user, account.key_file, jump,
                             lab.known_hosts))
    return out
