"""What every profile kind shares. A profile is data: how to log into one kind of target and
what to capture as proof.

A kind is one module in this package holding its profile model (a :class:`ProfileBase`
subclass with ``kind: Literal[...]``), the model of its inventory targets (a
:class:`~evidence_kit.profiles.target.TargetBase` subclass) and the name of its driver. The
package finds the kinds itself (``evidence_kit/profiles/__init__.py``), so a new kind edits no
list anywhere.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from evidence_kit.profiles.target import TargetBase

PROFILE_NAME = r"^[a-z][a-z0-9_]{1,63}$"


class Model(BaseModel):
    """Strict base: unknown keys are errors (a typo in a profile must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ProfileBase(Model):
    """A profile of some kind. Subclasses set ``kind`` (a Literal), ``driver`` and ``target_model``."""

    # "module:Class" of the driver that captures targets of this kind; imported only when a run
    # has such a target (drivers pull in heavy libraries).
    driver: ClassVar[str] = ""
    # The inventory fields a target of this kind takes.
    target_model: ClassVar[type[TargetBase]] = TargetBase

    name: str = Field(pattern=PROFILE_NAME, description="Profile name, as used in inventories.")
    kind: str
    vendor: str = Field("", description="Vendor or service, for people.")
    product: str = Field("", description="Product or platform, for people.")
    description: str = ""
    notes: str = Field("", description="Operator notes: MFA behaviour, quirks, what is proven.")

    def check_target(self, target: TargetBase) -> None:
        """Refuse a target this profile cannot capture (raise ``TargetProblem``); default: accept."""


def check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    return value



# A string that must compile as a Python regular expression (checked when a profile loads).
Regex = Annotated[str, AfterValidator(check_regex)]
