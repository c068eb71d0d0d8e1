"""What the directory says about the bound account: its entry, its token groups, their names.

The reads after a successful bind that turn "the password was accepted" into "this is who it is
and what it may do": the session's and the account's ``tokenGroups``, the domain SID, the
account's own entry (userAccountControl in words, must-change-password) and the names of the
token's group SIDs. Mixed into the directory driver's capture (drivers/directory.py), which
provides the search; every read goes through it, so each lands in the LDAP transcript.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evidence_kit.drivers.ad_tables import RID_NAMES, WELL_KNOWN_SIDS, sid_to_bytes, uac_flags
from evidence_kit.drivers.ldap_transcript import Transcript
from evidence_kit.profiles.directory import DirectoryProfile

if TYPE_CHECKING:
    from evidence_kit.drivers.directory import DirectoryJob


class AccountLookups:
    """The account and group reads; the class using it provides ``_search`` and the state below."""

    job: DirectoryJob
    transcript: Transcript
    record: dict[str, Any]

    def _search(self, base: str, flt: str, scope: str, attributes: list[str], label: str,
                show_filter: str | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _token_groups(self) -> list[str]:
        entries = self._search("", "(objectClass=*)", "BASE", ["tokenGroups"], label="session token")
        return [str(v) for v in (entries[0]["attributes"].get("tokenGroups", []) if entries else [])]

    def _domain_sid(self, naming: str) -> str | None:
        if not naming:
            return None
        entries = self._search(naming, "(objectClass=*)", "BASE", ["objectSid"], label="domain")
        sids = entries[0]["attributes"].get("objectSid", []) if entries else []
        return str(sids[0]) if sids else None

    def _account(self, naming: str, whoami: str | None, token: list[str]) -> dict[str, Any]:
        from ldap3.utils.conv import escape_filter_chars

        profile = self.job.profile
        assert isinstance(profile, DirectoryProfile)
        name = self.job.target.username or ""
        if whoami and whoami.lower().startswith("u:") and "\\" in whoami:
            sam = whoami[2:].split("\\", 1)[1]
            flt = f"(sAMAccountName={escape_filter_chars(sam)})"
        elif "\\" in name:
            flt = f"(sAMAccountName={escape_filter_chars(name.split(chr(92), 1)[1])})"
        elif "@" in name:
            # An AD UPN may be implicit (sAMAccountName@dnsdomain) with no userPrincipalName set.
            flt = (f"(|(userPrincipalName={escape_filter_chars(name)})"
                   f"(sAMAccountName={escape_filter_chars(name.split('@', 1)[0])}))")
        elif name.lower().startswith(("cn=", "uid=")):
            entries = self._search(name, "(objectClass=*)", "BASE", profile.account_attributes,
                                   label="account")
            return self._account_facts(entries, token)
        else:
            flt = f"(sAMAccountName={escape_filter_chars(name)})"
        if not naming:
            return {}
        entries = self._search(naming, f"(&(objectClass=user){flt})", "SUBTREE", profile.account_attributes,
                               label="account")
        # Several matches (implicit UPN + someone else's UPN): keep the one in the session token.
        in_token = [e for e in entries if str(e["attributes"].get("objectSid", [""])[0]) in token]
        return self._account_facts(in_token or entries[:1], token)

    def _account_facts(self, entries: list[dict[str, Any]], token: list[str]) -> dict[str, Any]:
        if not entries:
            self.transcript.note("the bound account's own entry was not found or not readable")
            return {}
        entry = entries[0]
        attrs = entry["attributes"]
        facts: dict[str, Any] = {"dn": entry["dn"]}
        for key, values in attrs.items():
            facts[key] = values[0] if len(values) == 1 else values
        uac = facts.get("userAccountControl")
        if isinstance(uac, int):
            facts["userAccountControl_flags"] = uac_flags(uac)
        computed = facts.get("msDS-User-Account-Control-Computed")
        if isinstance(computed, int):
            facts["computed_flags"] = uac_flags(computed)
        pwd = facts.get("pwdLastSet")
        if isinstance(pwd, dict) and pwd.get("raw") == 0:
            facts["must_change_password"] = True
        sid = facts.get("objectSid")
        facts["sid_in_session_token"] = bool(sid and sid in token)
        # The account's own tokenGroups (transitive membership incl. primary group), for comparison.
        own = self._search(entry["dn"], "(objectClass=*)", "BASE", ["tokenGroups"], label="account token")
        facts["tokenGroups"] = [str(v) for v in (own[0]["attributes"].get("tokenGroups", []) if own else [])]
        self.record["account"] = facts
        self.job.session.event("account", {k: v for k, v in facts.items() if k != "tokenGroups"})
        return facts

    def _group_names(self, naming: str, token: list[str], domain_sid: str | None) -> dict[str, str]:
        from ldap3.utils.conv import escape_bytes

        profile = self.job.profile
        assert isinstance(profile, DirectoryProfile)
        names = {sid: name for sid, name in WELL_KNOWN_SIDS.items() if sid in token}
        if domain_sid:
            for sid in token:
                rid = sid.rsplit("-", 1)[-1]
                if sid.startswith(domain_sid + "-") and rid.isdigit() and int(rid) in RID_NAMES:
                    names.setdefault(sid, RID_NAMES[int(rid)])
        if not (profile.resolve_group_names and naming):
            return names
        wanted = [sid for sid in token if sid.startswith(("S-1-5-21-", "S-1-5-32-"))]
        for i in range(0, len(wanted), 40):
            chunk = wanted[i:i + 40]
            flt = "(|" + "".join(f"(objectSid={escape_bytes(sid_to_bytes(sid))})" for sid in chunk) + ")"
            found = self._search(naming, flt, "SUBTREE", ["sAMAccountName", "objectSid"], label="group names",
                                 show_filter=f"(objectSid in {len(chunk)} token SIDs)")
            for entry in found:
                sid = str(entry["attributes"].get("objectSid", [""])[0])
                sam = entry["attributes"].get("sAMAccountName", [None])[0]
                if sid and sam:
                    names[sid] = str(sam) if not sid.startswith("S-1-5-32-") else f"BUILTIN\\{sam}"
        return names
