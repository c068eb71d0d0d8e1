"""From an entry and the rule it matched to an inventory target, or to a draft left for review.

A mapped target is checked exactly as the inventory loader will check it (the profile's target
model, then the profile's own requirements: SSH needs host and user name, a web portal a URL
unless the profile has a default one, a directory a host or domain), so a written inventory
loads. Whatever fails a check becomes a draft with the reason: nothing is dropped silently.

Where fields come from: ``host``/``port`` from the URL (a port only when the URL is ``ssh://``
or a bare ``host:port``; an ``https://`` port is the web GUI's, not SSH's); a web ``url`` from
the entry, or none when the profile has a ``default_url`` (registrars, Microsoft 365: the
profile knows its sign-in page, the entry's URL is often the home page); a directory ``domain``
from a ``user@domain`` name when there is no host. Secrets are references
(:func:`~evidence_kit.importers.resolve.reference`): ``password``, ``totp``, a custom field
named like "enable" as ``enable_secret`` (SSH), other hidden fields under ``secrets``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from evidence_kit.importers.interface import PASSWORD, PLACEHOLDER, TOTP, Entry
from evidence_kit.importers.resolve import reference
from evidence_kit.importers.rules import RuleSet
from evidence_kit.importers.urls import NO_SCHEME, Place, place_of
from evidence_kit.profiles.base import ProfileBase
from evidence_kit.profiles.target import TargetProblem
from evidence_kit.yamlio import describe_loc, pydantic_problem

CHOOSE = "CHOOSE"  # the profile a draft shows when no rule gave one
ENABLE = re.compile(r"(?i)^enable\b|\benable\s*(secret|password)")


@dataclass(frozen=True)
class Decision:
    """What became of one entry: a target (``mapped``) or a draft with ``reason``."""

    entry: Entry
    target: dict[str, Any]
    mapped: bool
    reason: str = ""  # why it is left for review
    rule: str = ""  # which rule decided, for people

    @property
    def profile(self) -> str:
        return str(self.target.get("profile", CHOOSE))


class Names:
    """Unique target names from titles (the inventory's names must be unique and simple)."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def take(self, entry: Entry, scheme: str) -> str:
        base = re.sub(r"[^a-z0-9._-]+", "-", entry.title.lower()).strip("-._")[:56]
        if not base or PLACEHOLDER.lower().strip("[]") in base:
            base = f"{scheme}-{re.sub(r'[^a-z0-9]', '', entry.id.lower())[:12] or 'entry'}"
        name, n = base, 1
        while name in self._used:
            n += 1
            name = f"{base}-{n}"
        self._used.add(name)
        return name


class Mapper:
    """Decides every entry of one import with one rule set and one profile registry."""

    def __init__(self, rules: RuleSet, registry: Any, scheme: str, label: str) -> None:
        self.rules = rules
        self.registry = registry
        self.scheme = scheme
        self.label = label
        self.names = Names()
        self._profiles: dict[str, ProfileBase] = {}
        self._ids: set[str] = set()

    def decide(self, entry: Entry) -> Decision:
        place = place_of(entry.url)
        if PLACEHOLDER in place.path:
            place = Place(place.scheme, place.host, place.port, "/")
        draft = self._common(entry)
        if entry.id in self._ids:  # the reference resolves to the first entry with this id
            return self._review(entry, draft, "duplicate id in the source (its references would read an "
                                "earlier entry)", place)
        self._ids.add(entry.id)
        if entry.archived:
            return self._review(entry, draft, "archived, trashed or in the recycle bin in the source", place)
        if not entry.login:
            return self._review(entry, draft, f"not a login ({entry.kind or 'no type'})", place)
        if not entry.secret_fields:
            return self._review(entry, draft, "no password or other secret in the source", place)
        compiled = self.rules.first(entry, place)
        if compiled is None:
            return self._review(entry, draft, f"no rule matches ({_seen(entry, place)})", place)
        if compiled.rule.review is not None:
            return self._review(entry, draft, compiled.rule.review, place, compiled.origin)
        assert compiled.rule.profile is not None
        profile = self._profile(compiled.rule.profile)
        target = self._fields(entry, place, profile, draft)
        problem = self._check(entry, target, profile)
        if problem:
            return Decision(entry, target, False, f"{profile.name}: {problem}", compiled.origin)
        return Decision(entry, target, True, rule=compiled.origin)

    # -- building ------------------------------------------------------------------------------

    def _common(self, entry: Entry) -> dict[str, Any]:
        where = f"{entry.folder} / {entry.title}" if entry.folder else entry.title
        target: dict[str, Any] = {"name": self.names.take(entry, self.scheme), "profile": CHOOSE}
        if entry.username:
            target["username"] = entry.username
        if entry.has(PASSWORD):
            target["password"] = reference(self.scheme, entry.id, PASSWORD)
        if entry.has(TOTP):
            target["totp"] = reference(self.scheme, entry.id, TOTP)
        target["description"] = f"{self.label}: {where}"[:200]
        return target

    def _fields(self, entry: Entry, place: Place, profile: ProfileBase, draft: dict[str, Any]) -> dict[str, Any]:
        target = dict(draft, profile=profile.name)
        where: dict[str, Any] = {}
        if profile.kind == "web":
            if getattr(profile, "default_url", None) is None and place.host:
                where["url"] = place.url()
        elif profile.kind == "directory":
            if place.host:
                where["host"] = place.host
            elif "@" in entry.username:
                where["domain"] = entry.username.rsplit("@", 1)[1].lower()
            if place.host and place.port:
                where["port"] = place.port
        elif place.host:
            where["host"] = place.host
            if place.port and place.scheme in (NO_SCHEME, profile.kind):  # an https:// port is not SSH's
                where["port"] = place.port
        # address fields after name/profile, before the credential: the order people read
        ordered = {k: target[k] for k in ("name", "profile")}
        ordered.update(where)
        ordered.update({k: v for k, v in target.items() if k not in ordered})
        secrets: dict[str, str] = {}
        fields = profile.target_model.model_fields
        for custom in entry.custom_fields:
            ref = reference(self.scheme, entry.id, f"fields/{custom}")
            if ENABLE.search(custom) and "enable_secret" in fields and "enable_secret" not in ordered:
                ordered["enable_secret"] = ref
            else:
                key = re.sub(r"[^a-z0-9]+", "_", custom.lower()).strip("_") or "field"
                while key in secrets:
                    key += "_"
                secrets[key] = ref
        if secrets:
            ordered["secrets"] = secrets
        description = ordered.pop("description")
        ordered["description"] = description
        return ordered

    def _check(self, entry: Entry, target: dict[str, Any], profile: ProfileBase) -> str:
        if not entry.username:
            return "no user name in the source"
        if not entry.has(PASSWORD):
            return "no password in the source"
        try:
            model = profile.target_model.model_validate(target)
        except ValidationError as exc:
            err = exc.errors()[0]
            return f"field '{describe_loc(list(err['loc']))}' {pydantic_problem(dict(err))}"
        try:
            profile.check_target(model)
        except TargetProblem as problem:
            hint = " (the entry's URL gives none)" if problem.field in ("host", "url") else ""
            return f"field '{problem.field}' {problem.problem}{hint}"
        return ""

    def _profile(self, name: str) -> ProfileBase:
        if name not in self._profiles:
            self._profiles[name] = self.registry.get(name).profile
        return self._profiles[name]

    def _review(self, entry: Entry, draft: dict[str, Any], reason: str, place: Place, rule: str = "") -> Decision:
        target = dict(draft)
        if place.host:
            address: dict[str, Any] = {"url": place.url()} if place.web else {"host": place.host}
            if not place.web and place.port:
                address["port"] = place.port
            target = {"name": draft["name"], "profile": CHOOSE, **address,
                      **{k: v for k, v in draft.items() if k not in ("name", "profile")}}
        return Decision(entry, target, False, reason, rule)


def _seen(entry: Entry, place: Place) -> str:
    parts = [f"title '{entry.title}'" if entry.title else "no title"]
    parts.append(f"url host {place.host}" if place.host else "no URL")
    if entry.category:
        parts.append(f"category '{entry.category}'")
    return ", ".join(parts)
