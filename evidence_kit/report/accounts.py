"""Targets that prove the same account, grouped for the summary (a Windows domain admin proven
by the directory, an admin share and a desktop is one credential shown three ways).

Read from each target's journaled identity only (its ``account``, and what the servers said
about their domains), so a report of any archive groups the same way. Accounts are compared by
name, never by secret: ``CORP\\admin``, ``admin@corp.example`` and ``admin`` with the directory
entry ``CN=admin,...,DC=corp,DC=example`` are one account when CORP is known to be corp.example
-- from an SMB server's NTLM challenge in the same case (its NetBIOS and DNS domain names) --
and each group says which link it rests on. A bare name without a domain (a local account)
is grouped only with the same name at the same address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from evidence_kit.report.model import TargetView

_DC = re.compile(r"(?i)\bDC=([^,]+)")


@dataclass(frozen=True)
class GroupMember:
    name: str
    anchor: str
    kind: str
    outcome: str
    ok: bool
    account: str  # as this target names it


@dataclass
class AccountGroup:
    account: str  # user@dns.domain (or DOMAIN\user when no DNS name is known), lower case
    members: list[GroupMember] = field(default_factory=list)
    basis: list[str] = field(default_factory=list)  # how names were linked, in words

    @property
    def kinds(self) -> list[str]:
        return sorted({m.kind for m in self.members})


def _aliases(targets: list[TargetView]) -> dict[str, tuple[str, str]]:
    """NetBIOS domain -> (DNS domain, target that said so), from SMB servers' NTLM facts."""
    out: dict[str, tuple[str, str]] = {}
    for t in targets:
        ident = dict(t.identity)
        netbios, dns = ident.get("server_netbios_domain", ""), ident.get("server_domain", "")
        if netbios and dns and "." in dns and netbios.lower() != dns.lower():
            out.setdefault(netbios.lower(), (dns.lower(), t.name))
    return out


def _key(t: TargetView, aliases: dict[str, tuple[str, str]]) -> tuple[str, str, str] | None:
    """(group key, the account as the target names it, the link used or "")."""
    ident = dict(t.identity)
    account = ident.get("account", "").strip()
    if not account:
        return None
    if "\\" in account:
        domain, _, user = account.partition("\\")
        if "." in domain:  # a DNS domain written down-level: corp.example\admin
            return f"{user.lower()}@{domain.lower()}", account, ""
        dns, source = aliases.get(domain.lower(), ("", ""))
        if dns:
            return f"{user.lower()}@{dns}", account, f"{domain} is {dns} (NTLM challenge of {source})"
        return f"{domain.lower()}\\{user.lower()}", account, ""
    if "@" in account:
        user, _, domain = account.rpartition("@")
        return f"{user.lower()}@{domain.lower()}", account, ""
    parts = _DC.findall(ident.get("account_dn", ""))
    if parts:  # a directory entry names its domain in its DN
        dns = ".".join(p.strip().lower() for p in parts)
        return f"{account.lower()}@{dns}", account, f"{account} is in {dns} (directory entry {ident['account_dn']})"
    return f"{account.lower()} at {t.address.rsplit(':', 1)[0].lower()}", account, ""


def account_groups(targets: list[TargetView]) -> list[AccountGroup]:
    """Groups of two or more targets naming the same account, in the order they first appear."""
    aliases = _aliases(targets)
    groups: dict[str, AccountGroup] = {}
    for t in targets:
        found = _key(t, aliases)
        if found is None:
            continue
        key, account, link = found
        group = groups.setdefault(key, AccountGroup(key))
        group.members.append(GroupMember(t.name, t.anchor, t.kind, t.outcome, t.ok, account))
        if link and link not in group.basis:
            group.basis.append(link)
    return [g for g in groups.values() if len(g.members) > 1]
