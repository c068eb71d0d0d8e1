"""The inventory side of routes: ``hops:``, ``proxies:``, ``defaults:`` and ``ssh_config`` turned
into each target's :class:`~evidence_kit.route.model.Route`, every problem one line, exit 2.

Precedence, as OpenSSH has it (the command line beats the config file, which beats defaults):
a field the target sets itself wins; then what its ``ssh_config`` Host entry says (HostName,
Port, User, IdentityFile, ProxyJump, UserKnownHostsFile); then the inventory's ``defaults:``.
Whatever the ssh_config says that is overridden or not used is recorded (route/sshconfig.py).

Chains: a hop's ``via:`` names the hop before it; a target's ``via:`` list gives the chain first
hop first (the first one's own ``via`` is followed). A ProxyJump name that is also a hop of the
inventory's ``hops:`` is that hop (with its credentials); other names are ssh_config aliases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from evidence_kit.errors import InventoryError
from evidence_kit.profiles.target import RoutedTarget, TargetBase
from evidence_kit.route.model import (
    ConfigLine,
    DefaultsSpec,
    HopSpec,
    HostKeyPolicy,
    Proxy,
    ProxySpec,
    Route,
    SshLogin,
    parse_proxy_url,
)
from evidence_kit.route.model import Hop as RouteHop
from evidence_kit.route.sshconfig import HostConfig, JumpSpec, SshConfig
from evidence_kit.secrets import SecretRef
from evidence_kit.yamlio import LocatedYaml, describe_loc, pydantic_problem

ROUTE_FIELDS = ("via", "proxy")
DEFAULT_FIELDS = ("via", "proxy", "ssh_config", "known_hosts")
USER_CONFIG = Path("~/.ssh/config")
USER_KNOWN_HOSTS = Path("~/.ssh/known_hosts")


class RouteBlocks:
    """The inventory's route blocks, validated at load; resolves each target's route."""

    def __init__(self, file: str, doc: LocatedYaml) -> None:
        self.file = file
        self.doc = doc
        self.base = Path(file).parent
        data = doc.data if isinstance(doc.data, dict) else {}
        self.hops: dict[str, HopSpec] = self._block(data, "hops", HopSpec)
        self.proxies: dict[str, ProxySpec] = self._block(data, "proxies", ProxySpec)
        self.defaults = self._model(DefaultsSpec, data.get("defaults") or {}, ["defaults"], "defaults")
        self._configs: dict[Path, SshConfig] = {}
        for name, hop in self.hops.items():
            if hop.name is not None:
                self._fail(["hops", name, "name"], f"hop '{name}' field 'name': a hop of hops: is named by its key")
            self._chain_names(name, ["hops", name, "via"], f"hop '{name}' field 'via'")
        if self.defaults.proxy is not None:
            self._proxy(self.defaults.proxy, "defaults", ["defaults", "proxy"], "field 'defaults.proxy'")
        if self.defaults.via is not None:
            for i, name in enumerate(_as_list(self.defaults.via)):
                self._named_hop(str(name), ["defaults", "via", i], "field 'defaults.via'")

    # -- loading ------------------------------------------------------------------------------

    def _fail(self, loc: list[Any], problem: str) -> None:
        line = self.doc.line_of(loc)
        raise InventoryError(self.file, problem, f"line {line}" if line else None)

    def _model(self, model: type[Any], value: Any, loc: list[Any], who: str) -> Any:
        if not isinstance(value, dict):
            self._fail(loc, f"{who}: must be a mapping")
        try:
            return model.model_validate(value)
        except ValidationError as exc:
            err = exc.errors()[0]
            rest = describe_loc(list(err["loc"]))
            where = f"{who} field '{rest}'" if rest else who
            self._fail(loc + list(err["loc"]), f"{where}: {pydantic_problem(dict(err))}")
        raise AssertionError  # unreachable: _fail raises

    def _block(self, data: dict[str, Any], key: str, model: type[BaseModel]) -> dict[str, Any]:
        block = data.get(key) or {}
        if not isinstance(block, dict):
            self._fail([key], f"field '{key}': must be a mapping of names to entries")
        kind = "hop" if key == "hops" else "proxy"
        out = {}
        for name, value in block.items():
            if not isinstance(name, str) or not name:
                self._fail([key], f"field '{key}': names must be text")
            out[name] = self._model(model, value, [key, name], f"{kind} '{name}'")
        return out

    def _chain_names(self, name: str, loc: list[Any], who: str) -> list[str]:
        """The named chain ending with hop ``name``, first hop first; unknown names and loops refused."""
        chain: list[str] = []
        current: str | None = name
        while current is not None:
            if current not in self.hops:
                known = ", ".join(sorted(self.hops)) or "none defined"
                self._fail(loc, f"{who}: unknown hop '{current}' (hops: {known})")
            if current in chain:
                loop = " -> ".join([*chain, current])
                self._fail(loc, f"{who}: loop in the chain of hops ({loop})")
            chain.append(current)
            current = self.hops[current].via
        return list(reversed(chain))

    def _named_hop(self, name: str, loc: list[Any], who: str) -> list[str]:
        return self._chain_names(name, loc, who)

    def _proxy(self, value: Any, owner: str, loc: list[Any], who: str) -> tuple[Proxy, SecretRef | None, str]:
        """The proxy ``value`` names (a name, a URL, or an inline mapping), its password reference
        and the label a prompt for it shows."""
        if isinstance(value, dict):
            spec = self._model(ProxySpec, value, loc, who)
            scheme, host, port = parse_proxy_url(spec.url)
            field = f"proxy:{owner}/inline:password" if spec.password else None
            return (Proxy(f"{owner} proxy", scheme, host, port, spec.username, field), spec.password,
                    f"target '{owner}' field 'proxy.password'")
        if not isinstance(value, str):
            self._fail(loc, f"{who}: must be a proxy name, a URL or a mapping")
        if "://" in value:
            try:
                scheme, host, port = parse_proxy_url(value)
            except ValueError as exc:
                self._fail(loc, f"{who}: {exc}")
            return Proxy(value, scheme, host, port), None, ""
        spec = self.proxies.get(value)
        if spec is None:
            known = ", ".join(sorted(self.proxies)) or "none defined"
            self._fail(loc, f"{who}: unknown proxy '{value}' (proxies: {known})")
        assert spec is not None
        scheme, host, port = parse_proxy_url(spec.url)
        field = f"proxy:{value}:password" if spec.password else None
        return (Proxy(value, scheme, host, port, spec.username, field), spec.password,
                f"proxy '{value}' field 'password'")

    # -- per target ---------------------------------------------------------------------------

    def merge_defaults(self, raw: Any, model: type[TargetBase], index: int) -> tuple[Any, set[str]]:
        """The target entry with ``defaults:`` filled in; returns it and the keys it got from them."""
        if not isinstance(raw, dict):
            return raw, set()
        merged = dict(raw)
        routed = issubclass(model, RoutedTarget)
        if not routed:
            for key in ROUTE_FIELDS:  # via: [] / proxy: null opt a kind without routes out of defaults
                if key in merged and merged[key] in (None, [], ""):
                    del merged[key]
        taken: set[str] = set()
        for key in DEFAULT_FIELDS:
            value = getattr(self.defaults, key)
            if value is None or key in raw:
                continue
            if key not in model.model_fields:
                if key in ROUTE_FIELDS:
                    self._fail(["targets", index], f"target '{raw.get('name')}' field '{key}': its kind cannot "
                               f"go through hops or proxies, so defaults.{key} cannot apply; set {key}: "
                               f"{'[]' if key == 'via' else 'null'} on it to connect directly")
                continue
            merged[key] = value.model_dump() if isinstance(value, BaseModel) else value
            taken.add(key)
        return merged, taken

    def attach(self, target: TargetBase, explicit: set[str], index: int) -> TargetBase:
        """Resolve ``target``'s route (and apply its ssh_config); returns the target to keep."""
        if not isinstance(target, RoutedTarget):
            return target
        who = f"target '{target.name}'"
        loc = ["targets", index]
        use = None
        updates: dict[str, Any] = {}
        jumps: list[RouteHop] | None = None
        config_path = getattr(target, "ssh_config", None)
        if config_path not in (None, False) and getattr(target, "transport", "ssh") == "ssh":
            path = USER_CONFIG.expanduser() if config_path is True else Path(config_path).expanduser()
            path = path if path.is_absolute() else self.base / path
            config = self._config(path, f"{who} field 'ssh_config'")
            host = config.lookup(str(target.host or ""))
            host.refuse_unsafe()
            updates, applied, ignored = _apply_host(host, target, explicit)
            proxy_jump = host.proxy_jump()
            if proxy_jump is not None:
                specs, directive = proxy_jump
                if "via" in explicit:
                    ignored.append(directive.at("the inventory's via: wins"))
                else:
                    applied.append(directive.at())
                    jumps = self._config_chain(config, specs, directive.file, [host.alias])
            use = host.use(applied, ignored)
        secret_refs: dict[str, tuple[SecretRef, str]] = {}
        if jumps is None:
            jumps = []
            for i, item in enumerate(_as_list(target.via)):
                jumps += self._hops_for(target.name, item, i, loc, jumps, secret_refs)
        else:
            for hop in jumps:
                self._add_secrets(hop.name, self.hops.get(hop.name), secret_refs, hop)
        proxy = None
        if target.proxy not in (None, ""):
            proxy, ref, label = self._proxy(target.proxy, target.name, [*loc, "proxy"], f"{who} field 'proxy'")
            if ref is not None and proxy.password is not None:
                secret_refs[proxy.password] = (ref, label)
        names = [h.name for h in jumps]
        if len(set(names)) != len(names):
            self._fail([*loc, "via"], f"{who} field 'via': loop in the chain of hops ({' -> '.join(names)})")
        route = Route(tuple(jumps), proxy, use, secret_refs)
        kept = target.model_copy(update=updates) if updates else target
        assert isinstance(kept, RoutedTarget)
        kept._route = route
        return kept

    def _config(self, path: Path, where: str) -> SshConfig:
        if path not in self._configs:
            self._configs[path] = SshConfig.load(path, self.file, where)
        return self._configs[path]

    def _hops_for(self, target: str, item: Any, i: int, loc: list[Any], before: list[RouteHop],
                  secrets: dict[str, tuple[SecretRef, str]]) -> list[RouteHop]:
        who = f"target '{target}' field 'via'"
        if isinstance(item, dict):
            spec = self._model(HopSpec, item, [*loc, "via", i], f"{who}[{i}]")
            if spec.via is not None:
                self._fail([*loc, "via", i], f"{who}[{i}]: an inline hop is reached through the hop before "
                           "it in the list; 'via' is for hops: entries")
            name = spec.name or f"{spec.username}@{spec.host}:{spec.port}"
            hop = self._hop(name, spec, owner=f"{target}/{name}")
            self._add_secrets(f"{target}/{name}", spec, secrets, hop, label=f"target '{target}' hop '{name}'")
            return [hop]
        if not isinstance(item, str):
            self._fail([*loc, "via", i], f"{who}: must be a hop name, a list of them, or an inline hop")
        chain = self._chain_names(item, [*loc, "via"], who)
        if before:
            own = self.hops[item].via
            if own is not None and own != before[-1].name:
                self._fail([*loc, "via"], f"{who}: hop '{item}' is reached via '{own}', but the list puts it "
                           f"after '{before[-1].name}'")
            chain = [item]
        out = []
        for name in chain:
            spec = self.hops[name]
            hop = self._hop(name, spec, owner=name)
            self._add_secrets(name, spec, secrets, hop)
            out.append(hop)
        return out

    def _hop(self, name: str, spec: HopSpec, owner: str) -> RouteHop:
        login = SshLogin(
            spec.username, f"hop:{owner}:password" if spec.password else None,
            (spec.key_file.expanduser(),) if spec.key_file else (),
            f"hop:{owner}:key_passphrase" if spec.key_passphrase else None, spec.key == "agent")
        return RouteHop(name, spec.host, spec.port, login, self._host_keys(spec.host_key, spec.known_hosts),
                        spec.reuse, "inventory hops" if owner == name else "inline hop")

    def _host_keys(self, pin: str | None, known: Path | None, *more: Path) -> HostKeyPolicy:
        if pin:
            return HostKeyPolicy(pin=pin)
        paths = [known] if known else list(more)
        if not paths and self.defaults.known_hosts:
            paths = [self.defaults.known_hosts]
        return HostKeyPolicy(known_hosts=tuple(p.expanduser() for p in paths))

    @staticmethod
    def _add_secrets(owner: str, spec: HopSpec | None, secrets: dict[str, tuple[SecretRef, str]],
                     hop: RouteHop, label: str | None = None) -> None:
        if spec is None:
            return
        label = label or f"hop '{owner}'"
        if spec.password is not None and hop.login.password:
            secrets[hop.login.password] = (spec.password, f"{label} field 'password'")
        if spec.key_passphrase is not None and hop.login.key_passphrase:
            secrets[hop.login.key_passphrase] = (spec.key_passphrase, f"{label} field 'key_passphrase'")

    def _config_chain(self, config: SshConfig, specs: list[JumpSpec], file: str, stack: list[str]) -> list[RouteHop]:
        """The hops a ProxyJump list stands for: the first one's own ProxyJump is followed."""
        out: list[RouteHop] = []
        for n, spec in enumerate(specs):
            if spec.host in stack:
                raise InventoryError(file, f"ProxyJump loop: {' -> '.join([*stack, spec.host])}")
            if spec.host in self.hops:
                if spec.user or spec.port:
                    raise InventoryError(file, f"ProxyJump '{spec.host}' names the inventory hop '{spec.host}': "
                                         "give its user and port in hops:, not in ProxyJump")
                names = self._chain_names(spec.host, ["hops", spec.host], f"hop '{spec.host}'")
                chain = names if n == 0 else [spec.host]
                out += [self._hop(name, self.hops[name], owner=name) for name in chain]
                continue
            host = config.lookup(spec.host)
            host.refuse_unsafe()
            if n == 0:
                inner = host.proxy_jump()
                if inner is not None and inner[0]:
                    out += self._config_chain(config, inner[0], inner[1].file, [*stack, spec.host])
            out.append(self._config_hop(host, spec))
        return out

    def _config_hop(self, host: HostConfig, spec: JumpSpec) -> RouteHop:
        port = spec.port or host.port() or 22
        user = spec.user or host.user()
        where = f"{host.file} (Host {host.alias})"
        if not user:
            raise InventoryError(host.file, f"ProxyJump host '{host.alias}' has no User (give one in the "
                                 "ssh_config or define the hop in the inventory's hops:)")
        keys = tuple(p for p, _ in host.identity_paths(user, port))
        if not keys:
            raise InventoryError(host.file, f"ProxyJump host '{host.alias}' has no IdentityFile: define the hop "
                                 "in the inventory's hops: to give it a password or key: agent")
        known, _ = host.known_hosts_paths(user, port)
        default = [USER_KNOWN_HOSTS.expanduser()] if USER_KNOWN_HOSTS.expanduser().is_file() else []
        policy = self._host_keys(None, None, *(known or ([] if self.defaults.known_hosts else default)))
        return RouteHop(host.alias, host.hostname, port, SshLogin(user, key_files=keys), policy, True,
                        f"ssh_config {where}")


def _apply_host(host: HostConfig, target: TargetBase, explicit: set[str]) -> tuple[
        dict[str, Any], list[ConfigLine], list[ConfigLine]]:
    """Target fields from the Host entry (where the inventory did not set them), and what was used."""
    updates: dict[str, Any] = {}
    applied: list[ConfigLine] = []
    ignored: list[ConfigLine] = []

    def take(field: str, value: Any, line: ConfigLine | None) -> None:
        if line is None:
            return
        if field in explicit and field != "host":  # the target's host is the alias HostName replaces
            ignored.append(ConfigLine(line.directive, line.value, line.file, line.line,
                                      f"the inventory's {field} wins"))
        else:
            updates[field] = value
            applied.append(line)

    d = host.get("hostname")
    take("host", host.hostname, d.at() if d else None)
    port = host.port()
    d = host.get("port")
    take("port", port, d.at() if d else None)
    user = host.user()
    d = host.get("user")
    take("username", user, d.at() if d else None)
    port_now = updates.get("port", target.port)
    user_now = updates.get("username", target.username)
    keys = host.identity_paths(user_now, port_now)
    if keys:
        first, d0 = keys[0]
        take("key_file", first, d0.at())
        ignored += [d.at("only the first IdentityFile is used for a target") for _, d in keys[1:]]
    paths, d = host.known_hosts_paths(user_now, port_now)
    if d is not None and paths:
        if "host_key" in explicit:
            ignored.append(d.at("the inventory's host_key pin wins"))
        else:
            take("known_hosts", paths[0], ConfigLine(d.name, str(paths[0]), d.file, d.line))
            ignored += [ConfigLine(d.name, str(p), d.file, d.line, "only the first UserKnownHostsFile is read")
                        for p in paths[1:]]
    elif target_has_no_host_keys(target) and USER_KNOWN_HOSTS.expanduser().is_file():
        updates["known_hosts"] = USER_KNOWN_HOSTS.expanduser()
        applied.append(ConfigLine("UserKnownHostsFile", str(updates["known_hosts"]), host.file, 0,
                                  "OpenSSH's default"))
    return updates, applied, ignored


def target_has_no_host_keys(target: TargetBase) -> bool:
    return not getattr(target, "known_hosts", None) and not getattr(target, "host_key", None)


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list) else [value]
