"""What every profile kind shares. A profile is data: how to log into one kind of target and
what to capture as proof. Kinds: ``ssh`` (profiles/ssh.py), ``web`` (web.py), ``directory``
(directory.py)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

PROFILE_NAME = r"^[a-z][a-z0-9_]{1,63}$"


class Model(BaseModel):
    """Strict base: unknown keys are errors (a typo in a profile must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ProfileBase(Model):
    name: str = Field(pattern=PROFILE_NAME, description="Profile name, as used in inventories.")
    kind: str
    vendor: str = Field("", description="Vendor or service, for people.")
    product: str = Field("", description="Product or platform, for people.")
    description: str = ""
    notes: str = Field("", description="Operator notes: MFA behaviour, quirks, what is proven.")


def check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    return value



# A string that must compile as a Python regular expression (checked when a profile loads).
Regex = Annotated[str, AfterValidator(check_regex)]
