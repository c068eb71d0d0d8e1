"""The inventory's ``case.sources`` block: each source file named once, by its scheme.

```yaml
case:
  sources:
    bitwarden: {format: bitwarden_json, file: exports/bitwarden.json.age, identity: keys/import.txt}
    kdbx: {format: keepass_kdbx, file: vault.kdbx, password: env:KDBX_PW}
```

The key is the reference scheme the source serves (``bitwarden:ID/FIELD`` references read
``case.sources.bitwarden``), so it must be the scheme of its ``format``. Paths are relative to
the inventory's folder. ``identity`` opens an age-encrypted file (else the environment variable
``EVIDENCE_KIT_SOURCE_IDENTITY`` names it); ``password`` (a secret reference) and ``keyfile``
unlock a KDBX database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

from evidence_kit.secrets import SecretRef, parse_secret_ref


class SourceSpec(BaseModel):
    """One source file the inventory's references read from."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    format: str
    file: Path
    identity: Path | None = None
    password: SecretRef | None = None
    keyfile: Path | None = None

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        from evidence_kit.importers.registry import BY_NAME

        if value not in BY_NAME:
            raise ValueError(f"unknown source format '{value}' (one of {', '.join(BY_NAME)})")
        return value

    @field_validator("password", mode="before")
    @classmethod
    def _secret_ref(cls, value: Any) -> SecretRef | None:
        if value is None or isinstance(value, SecretRef):
            return value
        return parse_secret_ref(value)

    @property
    def scheme(self) -> str:
        from evidence_kit.importers.registry import BY_NAME

        return BY_NAME[self.format].scheme

    def path_from(self, base: Path, value: Path | None) -> Path | None:
        if value is None:
            return None
        value = value.expanduser()
        return value if value.is_absolute() else base / value


def _keys_are_schemes(value: dict[str, SourceSpec]) -> dict[str, SourceSpec]:
    for key, spec in value.items():
        if key != spec.scheme:
            raise ValueError(f"source '{key}' has format {spec.format}, whose references are "
                             f"'{spec.scheme}:ID/FIELD': name it '{spec.scheme}'")
    return value


# The field type of ``case.sources`` (evidence_kit/inventory.py): scheme -> source.
Sources = Annotated[dict[str, SourceSpec], AfterValidator(_keys_are_schemes)]
