"""Secret references (``env:``, ``prompt``, ``file:``, ``keepass:``) and the :class:`Secret` type.

References are parsed when the inventory loads and resolved lazily, once each: a run that
only touches one target never prompts for another's password. Values live in :class:`Secret`,
whose ``repr``/``str`` name the reference and never the value.

More schemes come from plug-in modules (:data:`SCHEME_PLUGINS`), imported the first time a
reference names a scheme that is not built in: ``evidence_kit/importers/resolve.py`` serves
the documentation-tool sources (``bitwarden:ID/FIELD``, ``itglue:ID/FIELD``...) from the files
an inventory's ``case.sources`` names.
"""

from __future__ import annotations

import functools
import importlib
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from evidence_kit.errors import SecretError

SCHEMES = ("env", "prompt", "file", "keepass")
# Modules serving more schemes. Each has ``SCHEMES`` (names), ``check(scheme, arg)`` (what is
# wrong with a reference's argument, or None) and ``Server(sources, base_dir, environ, resolve)``
# whose ``fetch(ref, label)`` returns the value.
SCHEME_PLUGINS = ("evidence_kit.importers.resolve",)


@functools.cache
def plugin_schemes() -> dict[str, ModuleType]:
    """scheme -> the plug-in module serving it."""
    found: dict[str, ModuleType] = {}
    for name in SCHEME_PLUGINS:
        module = importlib.import_module(name)
        found.update({scheme: module for scheme in module.SCHEMES})
    return found


class Secret:
    """A secret value that does not show itself. Use :meth:`reveal` at the point of use only."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.source})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class SecretRef:
    """A parsed reference: ``scheme`` is one of :data:`SCHEMES`; ``arg`` what follows the colon."""

    scheme: str
    arg: str = ""

    @property
    def text(self) -> str:
        return self.scheme if self.scheme == "prompt" else f"{self.scheme}:{self.arg}"

    def __str__(self) -> str:
        return self.text


def parse_secret_ref(value: object) -> SecretRef:
    """Parse a reference, refusing literal passwords. Raises ``ValueError`` with a safe message.

    The message never repeats the value: it may be a password someone pasted in by mistake.
    """
    if not isinstance(value, str):
        raise ValueError("must be a secret reference (env:NAME, prompt, file:PATH or keepass:GROUP/TITLE)")
    if value == "prompt":
        return SecretRef("prompt")
    scheme, sep, arg = value.partition(":")
    if sep and scheme in SCHEMES and scheme != "prompt":
        if not arg:
            raise ValueError(f"secret reference '{scheme}:' has nothing after the colon")
        if scheme == "keepass" and "/" not in arg.strip("/"):
            raise ValueError("keepass reference must be keepass:GROUP/TITLE")
        return SecretRef(scheme, arg)
    plugin = plugin_schemes().get(scheme) if sep and scheme.isidentifier() and scheme.islower() else None
    if plugin is not None:
        problem = plugin.check(scheme, arg)
        if problem:
            raise ValueError(problem)
        return SecretRef(scheme, arg)
    if sep and scheme.isidentifier() and scheme.islower() and len(scheme) <= 10:
        raise ValueError(
            f"unknown secret scheme '{scheme}:' (use env:NAME, prompt, file:PATH, keepass:GROUP/TITLE "
            "or a source reference such as bitwarden:ID/password)"
        )
    raise ValueError(
        "looks like a literal secret; the inventory only takes references "
        "(env:NAME, prompt, file:PATH or keepass:GROUP/TITLE)"
    )


@dataclass(frozen=True)
class KeePassSource:
    database: Path
    password: SecretRef | None = None
    keyfile: Path | None = None


PromptFn = Callable[[str], str]


class SecretResolver:
    """Resolves references once each and remembers every value it handed out (for redaction)."""

    def __init__(
        self,
        prompt: PromptFn | None = None,
        keepass: KeePassSource | None = None,
        base_dir: Path | None = None,
        environ: dict[str, str] | None = None,
        sources: Mapping[str, Any] | None = None,
    ) -> None:
        self._prompt = prompt
        self._keepass = keepass
        self._base = base_dir or Path.cwd()
        self._env = environ if environ is not None else os.environ
        self._cache: dict[SecretRef, Secret] = {}
        # "prompt" is asked once per target/field, not once per run: one reference, many secrets.
        self._prompted: dict[tuple[SecretRef, str], Secret] = {}
        self._lock = threading.RLock()
        self._kp_db: Any = None
        # case.sources of the inventory (scheme -> source), read by the plug-in schemes' servers
        self._sources = dict(sources or {})
        self._servers: dict[str, Any] = {}

    def resolve(self, ref: SecretRef, label: str) -> Secret:
        """Resolve ``ref``; ``label`` says whose secret it is in prompts and errors."""
        with self._lock:
            if ref.scheme != "prompt" and ref in self._cache:
                return self._cache[ref]
            if ref.scheme == "prompt" and (ref, label) in self._prompted:
                return self._prompted[(ref, label)]
            secret = Secret(self._fetch(ref, label), f"{ref.text} for {label}")
            if ref.scheme == "prompt":
                self._prompted[(ref, label)] = secret
            else:
                self._cache[ref] = secret
            return secret

    def known_values(self) -> list[str]:
        with self._lock:
            values = [s.reveal() for s in self._cache.values()]
            values += [s.reveal() for s in self._prompted.values()]
        return [v for v in values if v]

    def _fetch(self, ref: SecretRef, label: str) -> str:
        if ref.scheme == "env":
            if ref.arg not in self._env:
                raise SecretError(f"{label}: environment variable {ref.arg} is not set")
            return self._env[ref.arg]
        if ref.scheme == "file":
            path = Path(ref.arg).expanduser()
            if not path.is_absolute():
                path = self._base / path
            try:
                # A secret file holds the secret on its first line (trailing newline stripped).
                return path.read_text(encoding="utf-8").splitlines()[0] if path.stat().st_size else ""
            except (OSError, UnicodeDecodeError, IndexError) as exc:
                raise SecretError(f"{label}: cannot read secret file {path}: {exc.__class__.__name__}")
        if ref.scheme == "prompt":
            if self._prompt is None:
                raise SecretError(f"{label}: `prompt` needs a terminal (no terminal is attached to standard "
                                  "input); use env:, file: or keepass: for unattended runs")
            return self._prompt(f"{label}: ")
        if ref.scheme == "keepass":
            return self._from_keepass(ref, label)
        plugin = plugin_schemes().get(ref.scheme)
        if plugin is not None:
            if plugin.__name__ not in self._servers:
                self._servers[plugin.__name__] = plugin.Server(self._sources, self._base, self._env, self.resolve)
            return str(self._servers[plugin.__name__].fetch(ref, label))
        raise SecretError(f"{label}: unknown secret scheme {ref.scheme!r}")

    def _from_keepass(self, ref: SecretRef, label: str) -> str:
        if self._keepass is None:
            raise SecretError(
                f"{label}: {ref.text} needs a KeePass database (inventory case.keepass.database "
                "or EVIDENCE_KIT_KEEPASS_DB)"
            )
        if self._kp_db is None:
            from pykeepass import PyKeePass  # lazy: only runs that use KeePass pay for it

            master = None
            if self._keepass.password is not None:
                master = self.resolve(self._keepass.password, "KeePass database").reveal()
            try:
                self._kp_db = PyKeePass(
                    str(self._keepass.database), password=master,
                    keyfile=str(self._keepass.keyfile) if self._keepass.keyfile else None,
                )
            except Exception as exc:
                raise SecretError(
                    f"{label}: cannot open KeePass database {self._keepass.database}: {exc.__class__.__name__}"
                )
        group_path, _, title = ref.arg.strip("/").rpartition("/")
        db = self._kp_db
        entries = [
            e for e in db.find_entries(title=title) or []
            if "/".join(e.path[:-1]) == group_path
        ]
        if not entries:
            raise SecretError(f"{label}: no KeePass entry '{title}' in group '{group_path}'")
        return str(entries[0].password or "")

