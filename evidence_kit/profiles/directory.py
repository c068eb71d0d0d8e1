"""Directory profiles: how to prove a credential against an LDAP directory (Active Directory).

What is proven: the bind itself, the bound identity, and whether the session's security token
holds the privileged groups the profile expects (checked by SID, never by name: names are
localised and can be renamed, SIDs cannot). Everything here is read-only.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from evidence_kit.profiles.base import Model, ProfileBase
from evidence_kit.profiles.target import RoutedTarget, TargetBase, TargetProblem

Transport = Literal["ldaps", "starttls", "ldap"]
TRANSPORTS: tuple[str, ...] = ("ldaps", "starttls", "ldap")
DEFAULT_PORTS = {"ldaps": 636, "starttls": 389, "ldap": 389}

# Group references: a well-known alias, "RID:n" (relative to the bound domain's SID) or a SID.
GROUP_ALIASES: dict[str, str] = {
    "domain_admins": "RID:512",
    "enterprise_admins": "RID:519",
    "schema_admins": "RID:518",
    "administrators": "S-1-5-32-544",
    "account_operators": "S-1-5-32-548",
    "server_operators": "S-1-5-32-549",
    "backup_operators": "S-1-5-32-551",
    "authenticated_users": "S-1-5-11",
}
_GROUP_REF = re.compile(r"^(RID:\d{1,10}|S-1(-\d{1,10}){1,15})$")


def normalise_group(ref: str) -> str:
    """Alias, ``RID:n`` or SID -> ``RID:n`` or SID. Raises ``ValueError`` naming the accepted forms."""
    value = ref.strip()
    alias = GROUP_ALIASES.get(value.lower())
    if alias:
        return alias
    if value[:4].upper() == "RID:":
        value = "RID:" + value[4:]
    if value[:2].lower() == "s-":
        value = "S-" + value[2:]
    if not _GROUP_REF.match(value):
        raise ValueError(
            f"unknown group {ref!r}: use a SID (S-1-5-32-544), RID:n (relative to the domain) "
            f"or one of {', '.join(GROUP_ALIASES)}"
        )
    return value


class DirectoryTarget(RoutedTarget):
    """An inventory target proven against a directory: a DC (host), a domain, or a list of DCs."""

    domain: str | None = None
    dcs: list[str] = Field(default_factory=list)
    transport: str | None = None

    @field_validator("transport")
    @classmethod
    def _transport(cls, value: str | None) -> str | None:
        # 'ldap' (no encryption) is allowed, but only when a target names it explicitly.
        if value is not None and value.lower() not in TRANSPORTS:
            raise ValueError(f"must be one of {', '.join(TRANSPORTS)}")
        return value.lower() if value is not None else None

    @property
    def address(self) -> str:
        return super().address or self.domain or ",".join(self.dcs)


class DirectoryTimeouts(Model):
    """Defaults in seconds; an inventory's ``timeouts`` (connect, auth, command) override them."""

    connect: float = Field(10.0, gt=0, le=600, description="TCP connect and TLS handshake.")
    auth: float = Field(30.0, gt=0, le=600, description="The bind request.")
    command: float = Field(30.0, gt=0, le=3600, description="Each search after the bind.")


class DirectoryProfile(ProfileBase):
    driver: ClassVar[str] = "evidence_kit.drivers.directory:DirectoryDriver"
    target_model: ClassVar[type[TargetBase]] = DirectoryTarget

    kind: Literal["directory"] = "directory"
    transport: Transport = Field(
        "ldaps",
        description="ldaps (636) or starttls (389). 'ldap' (no encryption: the password crosses the "
        "network in clear) is used only when an inventory target names it explicitly.",
    )
    expected: list[str] = Field(
        default_factory=lambda: ["domain_admins"],
        min_length=1,
        description="Groups (alias, RID:n or SID) the credential must hold for login_ok; "
        "an inventory's 'expected' (comma-separated) overrides.",
    )
    expected_match: Literal["any", "all"] = Field(
        "any", description="login_ok when any (or all) of 'expected' is in the session's token."
    )
    privileged_groups: list[str] = Field(
        default_factory=lambda: ["domain_admins", "enterprise_admins", "schema_admins", "administrators"],
        description="Groups always checked and reported, whatever is expected.",
    )
    rootdse_attributes: list[str] = Field(
        default_factory=lambda: [
            "defaultNamingContext", "rootDomainNamingContext", "configurationNamingContext",
            "dnsHostName", "serverName", "dsServiceName", "ldapServiceName", "domainFunctionality",
            "forestFunctionality", "domainControllerFunctionality", "currentTime", "isSynchronized",
            "isGlobalCatalogReady", "supportedLDAPVersion", "supportedExtension",
            "supportedSASLMechanisms", "vendorName", "vendorVersion",
        ],
        description="RootDSE attributes read (anonymously, before the bind).",
    )
    account_attributes: list[str] = Field(
        default_factory=lambda: [
            "distinguishedName", "sAMAccountName", "userPrincipalName", "objectSid", "objectClass",
            "userAccountControl", "msDS-User-Account-Control-Computed", "pwdLastSet",
            "lastLogonTimestamp", "accountExpires", "whenCreated", "adminCount",
        ],
        description="Attributes read from the bound account's own entry.",
    )
    resolve_group_names: bool = Field(
        True, description="Look up the names of the token's group SIDs in the domain (one search)."
    )
    timeouts: DirectoryTimeouts = Field(default_factory=lambda: DirectoryTimeouts.model_validate({}))

    def check_target(self, target: TargetBase) -> None:
        assert isinstance(target, DirectoryTarget)
        for required in ("username", "password"):
            if getattr(target, required) is None:
                raise TargetProblem(required, f"is required for directory profile '{self.name}'")
        if not (target.host or target.domain or target.dcs):
            raise TargetProblem("host", "a directory target needs host, domain or dcs")

    @field_validator("expected", "privileged_groups")
    @classmethod
    def _groups(cls, value: list[str]) -> list[str]:
        return [normalise_group(v) for v in value]

    @field_validator("rootdse_attributes", "account_attributes")
    @classmethod
    def _attributes(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.match(r"^[A-Za-z][A-Za-z0-9-]*$", name):
                raise ValueError(f"{name!r} is not an LDAP attribute name")
        return value
