"""The OpenSSH client config (``ssh_config(5)``), read the way ``ssh`` reads it, for Host aliases.

What ``ssh`` would do matters here, because a technician's ``~/.ssh/config`` is how they reach
the customer's devices. Semantics kept from OpenSSH: keywords are case-insensitive, ``Key value``
or ``Key=value``, double quotes group an argument; ``Host`` patterns (``*``, ``?``, ``!negation``)
match the alias given; ``Match`` blocks with ``all``, ``host``, ``originalhost``, ``user`` and
``localuser`` are evaluated; ``Include`` (globs; relative paths are in ``~/.ssh``) includes in
place, conditionally inside a block; for each directive the **first** value obtained wins
(``IdentityFile`` accumulates); ``%h %p %r %u %d %n %i %%``, ``~`` and ``${VAR}`` are expanded.

Policy, per directive in effect for a host (never silent):

- honoured: HostName, Port, User, IdentityFile, ProxyJump, UserKnownHostsFile;
- refused, one line naming the file, line and directive: ``StrictHostKeyChecking no/off``,
  ``ProxyCommand`` (a program we cannot record), ``ForwardAgent yes`` (the hop could use the
  technician's keys), algorithm overrides (Ciphers, KexAlgorithms, HostKeyAlgorithms, MACs,
  PubkeyAcceptedAlgorithms, ...) and ``HostKeyAlias`` (another known_hosts entry would decide);
- everything else is recorded in the journal as ignored, with why.
"""

from __future__ import annotations

import getpass
import glob
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

from evidence_kit.errors import InventoryError
from evidence_kit.route.model import ConfigLine, ConfigUse

HONOURED = ("hostname", "port", "user", "identityfile", "proxyjump", "userknownhostsfile")
ALGORITHMS = ("ciphers", "kexalgorithms", "hostkeyalgorithms", "macs", "pubkeyacceptedalgorithms",
              "pubkeyacceptedkeytypes", "casignaturealgorithms", "hostbasedacceptedalgorithms",
              "hostbasedkeytypes")
ACCUMULATE = ("identityfile", "certificatefile", "localforward", "remoteforward", "dynamicforward",
              "sendenv", "setenv")
STRICT_NOTE = "host keys are always checked strictly (pin or known_hosts; an unknown host is refused)"
MAX_INCLUDE_DEPTH = 16
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Directive:
    keyword: str  # lower case
    name: str  # as written
    args: tuple[str, ...]
    file: str
    line: int

    @property
    def value(self) -> str:
        return " ".join(self.args)

    def at(self, why: str = "") -> ConfigLine:
        return ConfigLine(self.name, self.value, self.file, self.line, why)


@dataclass(frozen=True)
class _Cond:
    kind: str  # "host" | "match"
    args: tuple[str, ...]
    file: str
    line: int


@dataclass(frozen=True)
class JumpSpec:
    """One ProxyJump element: ``[user@]host[:port]``."""

    host: str
    user: str | None = None
    port: int | None = None


@dataclass
class HostConfig:
    """The directives in effect for one alias (first value wins), and what was not evaluated."""

    alias: str
    file: str
    values: dict[str, Directive] = field(default_factory=dict)
    identity_files: list[Directive] = field(default_factory=list)
    unevaluated: list[ConfigLine] = field(default_factory=list)

    def get(self, keyword: str) -> Directive | None:
        return self.values.get(keyword)

    @property
    def hostname(self) -> str:
        d = self.values.get("hostname")
        return _tokens(d.args[0], {"h": self.alias}) if d and d.args else self.alias

    def port(self) -> int | None:
        d = self.values.get("port")
        if d is None:
            return None
        if len(d.args) != 1 or not d.args[0].isdigit() or not 1 <= int(d.args[0]) <= 65535:
            raise InventoryError(d.file, f"Port {d.value!r} (for host '{self.alias}') is not a port number",
                                 f"line {d.line}")
        return int(d.args[0])

    def user(self) -> str | None:
        d = self.values.get("user")
        return _tokens(d.args[0], {}) if d and d.args else None

    def _expand_path(self, text: str, user: str | None, port: int | None) -> Path:
        home = str(Path.home())
        tokens = {"h": self.hostname, "p": str(port or 22), "r": user or "", "u": getpass.getuser(), "d": home,
                  "n": self.alias, "i": str(os.getuid()), "l": socket.gethostname().split(".")[0]}
        text = _ENV.sub(lambda m: os.environ.get(m.group(1), ""), _tokens(text, tokens))
        return Path(text).expanduser()

    def identity_paths(self, user: str | None, port: int | None) -> list[tuple[Path, Directive]]:
        out = []
        for d in self.identity_files:
            if d.args and d.args[0].lower() != "none":
                out.append((self._expand_path(d.args[0], user, port), d))
        return out

    def known_hosts_paths(self, user: str | None, port: int | None) -> tuple[list[Path], Directive | None]:
        d = self.values.get("userknownhostsfile")
        if d is None:
            return [], None
        paths = [self._expand_path(a, user, port) for a in d.args if a.lower() != "none"]
        return paths, d

    def proxy_jump(self) -> tuple[list[JumpSpec], Directive] | None:
        d = self.values.get("proxyjump")
        if d is None:
            return None
        if d.value.lower() == "none":
            return [], d
        return [parse_jump(part, d) for part in d.value.split(",") if part.strip()], d

    def refuse_unsafe(self) -> None:
        """Raise for a directive in effect that would weaken what evidence-kit checks."""
        for keyword, d in self.values.items():
            problem = _refusal(keyword, d.value.lower())
            if problem:
                raise InventoryError(d.file, f"{d.name} {d.value} (in effect for host '{self.alias}'): {problem}",
                                     f"line {d.line}")

    def use(self, applied: list[ConfigLine], extra_ignored: list[ConfigLine]) -> ConfigUse:
        """The journal's view: what was honoured, and every other directive in effect, with why."""
        ignored = list(extra_ignored)
        for keyword, d in self.values.items():
            if keyword in HONOURED:
                continue
            ignored.append(d.at(_why_ignored(keyword, d.value.lower())))
        ignored += self.unevaluated
        return ConfigUse(self.file, self.alias, tuple(applied), tuple(ignored))


def _refusal(keyword: str, value: str) -> str | None:
    if keyword == "stricthostkeychecking" and value in ("no", "off", "false"):
        return ("evidence-kit checks every host key before any credential is sent; remove it, or scope it "
                "to hosts the inventory does not use")
    if keyword == "proxycommand" and value != "none":
        return ("a ProxyCommand runs a program whose route cannot be recorded; use ProxyJump or the "
                "inventory's via:/proxy:")
    if keyword == "forwardagent" and value not in ("no", "false"):
        return "agent forwarding would let the far end sign with the technician's keys; remove it"
    if keyword in ALGORITHMS:
        return ("algorithm overrides are not applied (old devices: legacy: true on the target uses the "
                "profile's legacy list); remove it for the hosts the inventory uses")
    if keyword == "hostkeyalias":
        return "another known_hosts entry would decide the host key check; pin host_key in the inventory instead"
    return None


def _why_ignored(keyword: str, value: str) -> str:
    if keyword == "stricthostkeychecking":
        return STRICT_NOTE
    if keyword == "forwardagent":
        return "consistent: the agent is never forwarded"
    if keyword in ("identitiesonly", "identityagent"):
        return "only the inventory's key_file / IdentityFile (or key: agent when the inventory says so) is used"
    if keyword == "globalknownhostsfile":
        return "only UserKnownHostsFile and the inventory's known_hosts are read"
    return "not used by evidence-kit"


def parse_jump(text: str, d: Directive) -> JumpSpec:
    spec = text.strip().removeprefix("ssh://")
    user = None
    if "@" in spec:
        user, _, spec = spec.rpartition("@")
    port: int | None = None
    m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", spec) or re.fullmatch(r"([^:\s]+)(?::(\d+))?", spec)
    if not m or (m.group(2) and not 1 <= int(m.group(2)) <= 65535):
        raise InventoryError(d.file, f"ProxyJump {text.strip()!r} is not [user@]host[:port]", f"line {d.line}")
    if m.group(2):
        port = int(m.group(2))
    return JumpSpec(m.group(1), user or None, port)


def _tokens(text: str, values: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        return "%" if key == "%" else values.get(key, m.group(0))

    return re.sub(r"%(.)", sub, text)


def _split(text: str) -> list[str]:
    """OpenSSH's argument splitting: whitespace separates, double quotes group."""
    out, cur, quoted, seen = [], "", False, False
    for ch in text:
        if ch == '"':
            quoted, seen = not quoted, True
        elif ch.isspace() and not quoted:
            if cur or seen:
                out.append(cur)
            cur, seen = "", False
        else:
            cur += ch
    if quoted:
        raise ValueError("unbalanced quotes")
    if cur or seen:
        out.append(cur)
    return out


def _pattern(p: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in p) + r"\Z",
                      re.IGNORECASE)


def match_patterns(name: str, patterns: list[str]) -> bool:
    """OpenSSH pattern-list semantics: a negated match vetoes; else any positive match."""
    hit = False
    for p in patterns:
        if p.startswith("!"):
            if _pattern(p[1:]).match(name):
                return False
        elif _pattern(p).match(name):
            hit = True
    return hit


class SshConfig:
    """One config file (with its Includes), parsed once, looked up per alias."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: list[tuple[tuple[_Cond, ...], Directive]] = []
        self._read(path, (), 0)

    @classmethod
    def load(cls, path: Path, inventory: str, where: str) -> SshConfig:
        if not path.is_file():
            raise InventoryError(inventory, f"{where}: ssh_config file not found: {path}")
        return cls(path)

    def _read(self, path: Path, outer: tuple[_Cond, ...], depth: int) -> None:
        file = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InventoryError(file, f"cannot read ssh_config ({type(exc).__name__})")
        block: tuple[_Cond, ...] = ()
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            m = re.match(r"([A-Za-z][A-Za-z0-9]*)\s*(?:=\s*|\s+|$)(.*)", line)
            if not m:
                raise InventoryError(file, f"cannot read this ssh_config line: {line[:60]!r}", f"line {number}")
            name, rest = m.group(1), m.group(2).strip()
            try:
                args = tuple(_split(rest))
            except ValueError as exc:
                raise InventoryError(file, f"{name}: {exc}", f"line {number}")
            keyword = name.lower()
            if keyword in ("host", "match"):
                if not args:
                    raise InventoryError(file, f"{name} needs arguments", f"line {number}")
                block = (_Cond(keyword, args, file, number),)
            elif keyword == "include":
                if depth >= MAX_INCLUDE_DEPTH:
                    raise InventoryError(file, "Include nested too deeply", f"line {number}")
                for pattern in args:
                    p = Path(pattern).expanduser()
                    p = p if p.is_absolute() else Path.home() / ".ssh" / p
                    for found in sorted(glob.glob(str(p))):
                        self._read(Path(found), outer + block, depth + 1)
            else:
                self.entries.append((outer + block, Directive(keyword, name, args, file, number)))

    def lookup(self, alias: str) -> HostConfig:
        host = HostConfig(alias, str(self.path))
        for conds, d in self.entries:
            verdict = all(self._holds(c, host) for c in conds if c.kind == "host")
            if not verdict:
                continue
            matches = [c for c in conds if c.kind == "match"]
            unknown = ""
            for c in matches:
                ok = _match_block(c, host)
                if ok is None:
                    unknown = f"inside 'Match {' '.join(c.args)}' ({c.file} line {c.line}), which is not evaluated"
                elif not ok:
                    verdict = False
            if not verdict:
                continue
            if unknown:
                if d.keyword in ACCUMULATE or d.keyword not in host.values:
                    host.unevaluated.append(d.at(unknown))
                continue
            if d.keyword == "identityfile":
                host.identity_files.append(d)
            elif d.keyword not in host.values:
                host.values[d.keyword] = d
        return host

    @staticmethod
    def _holds(c: _Cond, host: HostConfig) -> bool:
        return match_patterns(host.alias, list(c.args))


def _match_block(c: _Cond, host: HostConfig) -> bool | None:
    """A Match line's verdict for ``host``: True/False, or None when a criterion is not evaluated."""
    args = list(c.args)
    if [a.lower() for a in args] == ["all"]:
        return True
    ok = True
    i = 0
    while i < len(args):
        crit = args[i].lower()
        negate = crit.startswith("!")
        crit = crit.lstrip("!")
        if crit == "all":
            i += 1
            continue
        if crit not in ("host", "originalhost", "user", "localuser") or i + 1 >= len(args):
            return None
        subject = {"host": host.hostname, "originalhost": host.alias, "user": host.user() or getpass.getuser(),
                   "localuser": getpass.getuser()}[crit]
        hit = match_patterns(subject, args[i + 1].split(","))
        ok = ok and (hit != negate)
        i += 2
    return ok
