"""The inventory: one YAML file per case, listing targets and references to their secrets.

Every error names the file, the target and the field, in one line (exit 2). A literal
password is refused: only references (``env:``, ``prompt``, ``file:``, ``keepass:``) pass.

A target is read in two steps: its name and profile first, then the whole entry against the
target model of the profile's kind (``profiles/<kind>.py``), which also checks what that kind
requires. The loader knows no kind by name.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, NoReturn

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evidence_kit.errors import InventoryError, ProfileError
from evidence_kit.importers.sources import Sources
from evidence_kit.profiles import ProfileRegistry
from evidence_kit.profiles.base import ProfileBase
from evidence_kit.profiles.target import TargetBase, TargetHead, TargetProblem, secret_ref
from evidence_kit.route.build import RouteBlocks
from evidence_kit.secrets import KeePassSource, SecretRef
from evidence_kit.yamlio import LocatedYaml, describe_loc, load_yaml, pydantic_problem


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class KeePassConfig(_Strict):
    database: Path
    password: SecretRef | None = None
    keyfile: Path | None = None

    @field_validator("password", mode="before")
    @classmethod
    def _secret_ref(cls, value: Any) -> SecretRef | None:
        return secret_ref(value)


class CaseBlock(_Strict):
    client: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    technician: str = Field(min_length=1)
    purpose: str = "credential handover"
    authorization: Path | None = None
    recipients: list[str] = Field(default_factory=list)
    keepass: KeePassConfig | None = None
    sources: Sources = Field(default_factory=dict)  # files that SCHEME:ID/FIELD references read


class InventoryModel(_Strict):
    case: CaseBlock
    targets: list[TargetHead] = Field(min_length=1)
    # Routes (jump hosts, proxies, shared route settings): validated by route/build.py.
    hops: dict[str, Any] | None = None
    proxies: dict[str, Any] | None = None
    defaults: dict[str, Any] | None = None
    # Alert channels for scheduled runs: validated by schedule/alerts_config.py (with line numbers).
    alerts: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> InventoryModel:
        seen: set[str] = set()
        for t in self.targets:
            if t.name in seen:
                raise ValueError(f"duplicate target name '{t.name}'")
            seen.add(t.name)
        return self


class Inventory:
    """A validated inventory: each target in its kind's model, with its profile resolved."""

    def __init__(self, path: Path, case: CaseBlock, targets: list[TargetBase], profiles: dict[str, ProfileBase],
                 digest: str) -> None:
        self.path = path
        self.case = case
        self._targets = targets
        self.profiles = profiles
        self.sha256 = digest

    @property
    def targets(self) -> list[TargetBase]:
        return list(self._targets)

    def profile_of(self, target: TargetBase) -> ProfileBase:
        return self.profiles[target.name]

    def select(self, names: list[str]) -> list[TargetBase]:
        if not names:
            return self.targets
        known = {t.name for t in self._targets}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InventoryError(str(self.path), f"--only names unknown target '{unknown[0]}'")
        return [t for t in self._targets if t.name in names]

    def keepass_source(self) -> KeePassSource | None:
        kp = self.case.keepass
        if kp is None:
            return None
        base = self.path.parent
        db = kp.database if kp.database.is_absolute() else base / kp.database
        keyfile = None
        if kp.keyfile is not None:
            keyfile = kp.keyfile if kp.keyfile.is_absolute() else base / kp.keyfile
        return KeePassSource(db, kp.password, keyfile)


def load_inventory(path: Path, registry: ProfileRegistry) -> Inventory:
    path = Path(path)
    file = str(path)
    doc = load_yaml(path, InventoryError)
    if not isinstance(doc.data, dict):
        raise InventoryError(file, "an inventory is a mapping with 'case:' and 'targets:'")
    try:
        model = InventoryModel.model_validate(doc.data)
    except ValidationError as exc:
        _raise_first(file, doc, [], exc)

    routes = RouteBlocks(file, doc)
    targets: list[TargetBase] = []
    profiles: dict[str, ProfileBase] = {}
    for index, head in enumerate(model.targets):
        where = f"target '{head.name}'"
        if head.profile not in registry:
            raise InventoryError(
                file, f"{where} field 'profile': unknown profile '{head.profile}' "
                "(see 'evidence-kit profiles list')", _line(doc, ["targets", index, "profile"]),
            )
        try:
            profile = registry.get(head.profile).profile
        except ProfileError as exc:
            raise InventoryError(file, f"{where} field 'profile': {exc.one_line()}")
        raw = doc.data["targets"][index]
        entry, _ = routes.merge_defaults(raw, profile.target_model, index)
        try:
            target = profile.target_model.model_validate(entry)
        except ValidationError as exc:
            _raise_first(file, doc, ["targets", index], exc)
        target = routes.attach(target, set(raw), index)
        try:
            profile.check_target(target)
        except TargetProblem as problem:
            raise InventoryError(file, f"{where} field '{problem.field}': {problem.problem}",
                                 _line(doc, ["targets", index]))
        targets.append(target)
        profiles[target.name] = profile
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Inventory(path, model.case, targets, profiles, digest)


def _raise_first(file: str, doc: LocatedYaml, prefix: list[Any], exc: ValidationError) -> NoReturn:
    err = exc.errors()[0]
    loc = prefix + list(err["loc"])
    raise InventoryError(file, _describe(doc.data, loc, pydantic_problem(dict(err))), _line(doc, loc))


def _describe(data: Any, loc: list[Any], problem: str) -> str:
    if len(loc) >= 2 and loc[0] == "targets" and isinstance(loc[1], int):
        targets = data.get("targets") if isinstance(data, dict) else None
        name = None
        if isinstance(targets, list) and loc[1] < len(targets) and isinstance(targets[loc[1]], dict):
            name = targets[loc[1]].get("name")
        who = f"target '{name}'" if name else f"targets[{loc[1]}]"
        rest = describe_loc(loc[2:])
        return f"{who} field '{rest}': {problem}" if rest else f"{who}: {problem}"
    if loc == ["targets"] or not loc:
        return f"{describe_loc(loc) or 'inventory'}: {problem}"
    return f"field '{describe_loc(loc)}': {problem}"


def _line(doc: Any, loc: list[Any]) -> str | None:
    line = doc.line_of(loc)
    return f"line {line}" if line else None
