"""One import, start to end: read the source, select the client, map, write the inventory.

The command (evidence_kit/cli/import_cmd.py) only parses options and prints what this returns.
The output is written whole or not at all (a temporary file renamed over it), and never over
an existing file unless asked: an inventory may have been edited by hand since the last import.
"""

from __future__ import annotations

import getpass
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidence_kit.errors import UsageError, machine_error
from evidence_kit.importers.interface import Entry, SourceError
from evidence_kit.importers.mapping import Decision, Mapper
from evidence_kit.importers.registry import open_source
from evidence_kit.importers.rules import RuleSet
from evidence_kit.importers.writer import render
from evidence_kit.secrets import Secret, SecretRef, SecretResolver

PLACEHOLDER_PROVIDER = "CHANGE ME (your company, who hands over)"
PLACEHOLDER_CLIENT = "CHANGE ME (the client)"
MAX_LISTED = 12


@dataclass(frozen=True)
class ImportOptions:
    source: Path
    output: Path
    format: str | None = None
    client: str | None = None
    rules: Path | None = None
    identity: Path | None = None  # opens an age-encrypted source
    write_identity: bool = True  # False when the identity came from the environment
    password: SecretRef | None = None  # a KDBX's master password, as a reference
    keyfile: Path | None = None
    provider: str | None = None
    technician: str | None = None
    force: bool = False


@dataclass
class ImportResult:
    source: Path
    output: Path
    format: str
    label: str
    scheme: str
    client: str
    read: int = 0
    other_clients: int = 0
    mapped: Counter[str] = field(default_factory=Counter)
    review: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        """At least one target to capture (otherwise the inventory does not load as it is)."""
        return sum(self.mapped.values()) > 0

    def as_dict(self) -> dict[str, Any]:
        return {"source": str(self.source), "output": str(self.output), "format": self.format,
                "scheme": self.scheme, "client": self.client, "entries": self.read,
                "other_clients": self.other_clients, "mapped": dict(self.mapped),
                "mapped_total": sum(self.mapped.values()), "review": dict(self.review),
                "review_total": sum(self.review.values())}


def run_import(options: ImportOptions, registry: Any, resolver: SecretResolver | None = None) -> ImportResult:
    output = Path(options.output)
    if output.exists() and not options.force:
        raise UsageError(f"{output}: already exists (give --force to replace it)")
    if output.exists() and output.resolve() == Path(options.source).resolve():
        raise UsageError(f"{output}: is the source itself")
    rules = RuleSet.load(options.rules, registry)
    password: Secret | None = None
    if options.password is not None:
        password = (resolver or SecretResolver()).resolve(options.password, f"{options.source} master password")
    fmt, found = open_source(options.source, options.format, options.identity, password, options.keyfile)
    entries = list(fmt.entries(found))
    chosen, client = _select(entries, options.client, found.raw.file, fmt.client_means)
    mapper = Mapper(rules, registry, fmt.scheme, fmt.label)
    decisions = [mapper.decide(e) for e in chosen]
    result = ImportResult(Path(options.source), output, fmt.name, fmt.label, fmt.scheme, client, len(entries),
                          len(entries) - len(chosen))
    _count(result, decisions)
    text = render(source_label=fmt.label, source_file=str(options.source), case=_case(options, fmt.name,
                  fmt.scheme, client), decisions=decisions, other_clients=result.other_clients,
                  client_note=f", client '{client}'" if options.client else "")
    _write(output, text)
    return result


def _select(entries: list[Entry], wanted: str | None, file: str, means: str) -> tuple[list[Entry], str]:
    """The entries of one client, and the client's name for the case block."""
    organizations = list(dict.fromkeys(e.organization for e in entries if e.organization))
    if wanted is None:
        if len(organizations) > 1:
            raise SourceError(file, f"holds {len(organizations)} clients ({_listed(organizations)}); choose one "
                                    f"with --client NAME ({means})")
        return entries, organizations[0] if organizations else PLACEHOLDER_CLIENT
    key = wanted.strip().casefold()
    chosen = [e for e in entries if key in (e.client.casefold(), e.organization.casefold())]
    if not chosen:
        known = list(dict.fromkeys(e.client for e in entries if e.client))
        raise SourceError(file, f"no entry of client '{wanted}' ({means}); "
                                f"the file has {_listed(known) if known else 'no client names'}")
    return chosen, next((e.client for e in chosen if e.client), wanted)


def _listed(names: list[str]) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")


def _count(result: ImportResult, decisions: list[Decision]) -> None:
    for d in decisions:
        if d.mapped:
            result.mapped[d.profile] += 1
        else:
            result.review[d.reason.split(" (", 1)[0]] += 1


def _case(options: ImportOptions, format_name: str, scheme: str, client: str) -> dict[str, Any]:
    base = Path(options.output).resolve().parent
    source: dict[str, Any] = {"format": format_name, "file": _relative(options.source, base)}
    if options.identity is not None and options.write_identity:
        source["identity"] = _relative(options.identity, base)
    if options.password is not None:
        source["password"] = options.password.text
    if options.keyfile is not None:
        source["keyfile"] = _relative(options.keyfile, base)
    return {
        "client": client,
        "provider": options.provider or PLACEHOLDER_PROVIDER,
        "technician": options.technician or _user(),
        "sources": {scheme: source},
    }


def _relative(path: Path, base: Path) -> str:
    """``path`` relative to the inventory's folder when it lies below it, else absolute."""
    full = Path(path).expanduser().resolve()
    try:
        return str(full.relative_to(base))
    except ValueError:
        return str(full)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "CHANGE ME (technician)"


def _write(output: Path, text: str) -> None:
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, output)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        err = machine_error(exc, output, "writing the inventory")
        if err is not None:
            raise err from exc
        raise SourceError(str(output), f"cannot write ({exc.strerror or exc.__class__.__name__})")
