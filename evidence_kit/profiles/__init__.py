"""Profiles: the kinds, loading (built-in, user folders), lookup, lint and the JSON Schema.

The kinds are found, not listed: every module of this package that defines a
:class:`~evidence_kit.profiles.base.ProfileBase` subclass with ``kind: Literal[...]`` adds a
kind, and the profile format is the discriminated union of them on ``kind``. Adding a kind of
target is one module here, one driver module and one test module.

Search order for profiles, later wins: built-in profiles (``builtin/``, shipped in the
package), folders named in ``EVIDENCE_KIT_PROFILES`` (``os.pathsep``-separated), then
``--profiles DIR`` options.
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
import typing
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter, ValidationError

from evidence_kit.errors import ProfileError
from evidence_kit.profiles.base import ProfileBase
from evidence_kit.yamlio import describe_loc, load_yaml, pydantic_problem

PROFILES_ENV = "EVIDENCE_KIT_PROFILES"
_NOT_KINDS = {"base", "target", "builtin"}


@functools.cache
def kinds() -> dict[str, type[ProfileBase]]:
    """kind -> profile model, for every kind module in this package."""
    found: dict[str, type[ProfileBase]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in _NOT_KINDS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, ProfileBase) and value is not ProfileBase
                    and value.__module__ == module.__name__):
                kind = _kind_of(value)
                if kind:
                    found[kind] = value
    return dict(sorted(found.items()))


def _kind_of(model: type[ProfileBase]) -> str | None:
    args = typing.get_args(model.model_fields["kind"].annotation)
    return str(args[0]) if len(args) == 1 else None


def model_for(kind: str) -> type[ProfileBase]:
    return kinds()[kind]


@functools.cache
def _union() -> TypeAdapter[Any]:
    models = tuple(kinds().values())
    return TypeAdapter(Annotated[Union[models], Field(discriminator="kind")])  # noqa: UP007 - built at run time


@dataclass(frozen=True)
class LoadedProfile:
    profile: ProfileBase
    source: str  # file path
    builtin: bool = False


def parse_profile(path: Path, label: str | None = None) -> ProfileBase:
    """Load and validate one profile file; errors name the file, line and field."""
    doc = load_yaml(path, ProfileError)
    file = label or str(path)
    data = doc.data
    if not isinstance(data, dict):
        raise ProfileError(file, "a profile is a mapping (name:, kind:, ...)")
    kind = data.get("kind")
    if kind not in kinds():
        raise ProfileError(file, f"unknown kind {kind!r} (one of {', '.join(kinds())})", _where(doc, ["kind"]))
    try:
        profile: ProfileBase = _union().validate_python(data)
        return profile
    except ValidationError as exc:
        err = exc.errors()[0]
        # The union puts the kind first in every location; the file has no such level.
        loc = list(err["loc"])[1:] if err["loc"] and err["loc"][0] == kind else list(err["loc"])
        loc = [p for p in loc if not (isinstance(p, str) and p.startswith("function-"))]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ProfileError(
            file, f"field '{describe_loc(loc) or kind}' {pydantic_problem(dict(err))}{more}", _where(doc, loc)
        )


def _where(doc: Any, loc: list[Any]) -> str | None:
    line = doc.line_of(loc)
    return f"line {line}" if line else None


def builtin_dir() -> Path:
    return Path(str(resources.files(f"{__name__}.builtin")))


class ProfileRegistry:
    """All profiles visible to a run, by name."""

    def __init__(self, extra_dirs: list[Path] | None = None, use_env: bool = True) -> None:
        self.dirs: list[Path] = [builtin_dir()]
        if use_env and os.environ.get(PROFILES_ENV):
            self.dirs += [Path(p) for p in os.environ[PROFILES_ENV].split(os.pathsep) if p]
        self.dirs += list(extra_dirs or [])
        self._files: dict[str, Path] = {}
        self._loaded: dict[str, LoadedProfile] = {}
        for folder in self.dirs:
            if not folder.is_dir():
                raise ProfileError(str(folder), "profiles folder not found")
            for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
                self._files[path.stem] = path

    def names(self) -> list[str]:
        return sorted(self._files)

    def __contains__(self, name: str) -> bool:
        return name in self._files

    def get(self, name: str) -> LoadedProfile:
        if name not in self._loaded:
            path = self._files.get(name)
            if path is None:
                raise ProfileError(name, "no such profile")
            profile = parse_profile(path)
            if profile.name != name:
                raise ProfileError(str(path), f"name '{profile.name}' does not match the file name '{name}'")
            self._loaded[name] = LoadedProfile(profile, str(path), path.parent == builtin_dir())
        return self._loaded[name]

    def all(self) -> list[LoadedProfile]:
        return [self.get(n) for n in self.names()]


@dataclass(frozen=True)
class LintResult:
    file: str
    ok: bool
    message: str


def lint(paths: list[Path]) -> list[LintResult]:
    results = []
    for path in paths:
        try:
            profile = parse_profile(path)
        except ProfileError as exc:
            results.append(LintResult(str(path), False, exc.one_line()))
            continue
        warn = ""
        if profile.name != path.stem:
            warn = f" (warning: file name '{path.stem}' differs from profile name '{profile.name}')"
        results.append(LintResult(str(path), True, f"{path}: ok, {profile.kind} profile '{profile.name}'{warn}"))
    return results


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the profile format (all kinds), for editors."""
    variants = []
    defs: dict[str, Any] = {}
    for model in kinds().values():
        schema = model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        title = schema.get("title", model.__name__)
        defs[title] = schema
        variants.append({"$ref": f"#/$defs/{title}"})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://evidence-kit.invalid/schema/profile.json",
        "title": "evidence-kit profile",
        "description": "A profile: how to log into one kind of target and what to capture as proof.",
        "oneOf": variants,
        "$defs": defs,
    }
