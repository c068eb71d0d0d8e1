"""Rules that map entries to profiles: data (``rules.yaml`` here, plus a user's ``--rules FILE``).

A rule names a ``profile`` (map the entry to it) or a ``review`` reason (leave the entry for a
person, saying why) and conditions, all of which must hold; the first rule that matches wins,
the user's rules before the built-in ones. Conditions (docs/import.md):

``host``      globs for the URL's host (``*.godaddy.com``), any may match, case-insensitive
``scheme``    URL schemes (``ssh``, ``https``, ``none`` for a bare host or no URL)
``port``      URL ports
``path``      regular expression searched in the URL's path
``title``     regular expression searched in the title
``category``  regular expression searched in the category and the source's own type
``folder``    regular expression searched in the folder / group path
``text``      regular expression searched in title, category, type and folder
``username``  regular expression searched in the user name

Regular expressions are case-insensitive. Notes are never matched: they are free text and
often hold what no rule should act on.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evidence_kit.errors import InputError
from evidence_kit.importers.interface import Entry
from evidence_kit.importers.urls import Place
from evidence_kit.profiles.base import Regex
from evidence_kit.yamlio import describe_loc, load_yaml, pydantic_problem

BUILTIN = "rules.yaml"
_CONDITIONS = ("host", "scheme", "port", "path", "title", "category", "folder", "text", "username")


class RulesError(InputError):
    """A rules file is malformed or names a profile that does not exist."""


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: str | None = None
    review: str | None = Field(None, description="Leave matching entries for review, for this reason.")
    host: list[str] = Field(default_factory=list)
    scheme: list[str] = Field(default_factory=list)
    port: list[int] = Field(default_factory=list)
    path: Regex | None = None
    title: Regex | None = None
    category: Regex | None = None
    folder: Regex | None = None
    text: Regex | None = None
    username: Regex | None = None

    @model_validator(mode="after")
    def _one_outcome_some_condition(self) -> Rule:
        if (self.profile is None) == (self.review is None):
            raise ValueError("a rule has either 'profile' or 'review'")
        if not any(getattr(self, c) for c in _CONDITIONS):
            raise ValueError(f"a rule needs at least one condition ({', '.join(_CONDITIONS)})")
        return self


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[Rule]


@dataclass(frozen=True)
class Compiled:
    """A rule ready to test: its regular expressions compiled once, its origin kept for people."""

    rule: Rule
    origin: str  # "built-in rule 12" or "rules.yaml rule 3"
    hosts: re.Pattern[str] | None
    patterns: tuple[tuple[str, re.Pattern[str]], ...]
    schemes: frozenset[str]
    ports: frozenset[int]

    def matches(self, entry: Entry, place: Place) -> bool:
        if self.hosts is not None and not self.hosts.match(place.host):
            return False
        if self.schemes and place.scheme not in self.schemes:
            return False
        if self.ports and place.port not in self.ports:
            return False
        for name, pattern in self.patterns:
            if not pattern.search(_subject(name, entry, place)):
                return False
        return True


def _subject(name: str, entry: Entry, place: Place) -> str:
    if name == "path":
        return place.path
    if name == "category":
        return f"{entry.category}\n{entry.kind}"
    if name == "text":
        return f"{entry.title}\n{entry.category}\n{entry.kind}\n{entry.folder}"
    return str(getattr(entry, name))


def _compile(rule: Rule, origin: str) -> Compiled:
    hosts = None
    if rule.host:
        hosts = re.compile("|".join(f"(?:{fnmatch.translate(h.lower())})" for h in rule.host))
    patterns = tuple((name, re.compile(value, re.IGNORECASE)) for name in
                     ("path", "title", "category", "folder", "text", "username")
                     if (value := getattr(rule, name)) is not None)
    return Compiled(rule, origin, hosts, patterns, frozenset(s.lower() for s in rule.scheme), frozenset(rule.port))


class RuleSet:
    """The rules of one import: the user's (if any), then the built-in ones."""

    def __init__(self, compiled: list[Compiled]) -> None:
        self.rules = compiled

    @classmethod
    def load(cls, user_file: Path | None, known_profiles: Any) -> RuleSet:
        compiled: list[Compiled] = []
        if user_file is not None:
            compiled += _load(Path(user_file), str(user_file), known_profiles)
        builtin = Path(str(resources.files(__package__).joinpath(BUILTIN)))
        compiled += _load(builtin, f"built-in {BUILTIN}", known_profiles)
        return cls(compiled)

    def first(self, entry: Entry, place: Place) -> Compiled | None:
        return next((c for c in self.rules if c.matches(entry, place)), None)


def _load(path: Path, label: str, known_profiles: Any) -> list[Compiled]:
    doc = load_yaml(path, RulesError)
    if not isinstance(doc.data, dict):
        raise RulesError(label, "a rules file is a mapping with 'rules:' (a list)")
    try:
        model = RulesFile.model_validate(doc.data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = list(err["loc"])
        line = doc.line_of(loc)
        raise RulesError(label, f"field '{describe_loc(loc)}': {pydantic_problem(dict(err))}",
                         f"line {line}" if line else None)
    out = []
    for index, rule in enumerate(model.rules):
        if rule.profile is not None and rule.profile not in known_profiles:
            line = doc.line_of(["rules", index, "profile"])
            raise RulesError(label, f"field 'rules[{index}].profile': unknown profile '{rule.profile}' "
                                    "(see 'evidence-kit profiles list')", f"line {line}" if line else None)
        out.append(_compile(rule, f"{label} rule {index + 1}"))
    return out
