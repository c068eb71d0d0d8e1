"""Active Directory's tables and encodings, in words: bind refusal codes, userAccountControl
bits, well-known SIDs and RIDs, binary SIDs and FILETIMEs.

They are facts about AD, not about how the directory driver talks to it, so they live apart
from the driver (drivers/directory.py) and can serve anything that reads AD values.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import Any

# AD's "data" code in a bind refusal (invalidCredentials, 49), as Microsoft documents them.
AD_DATA_CODES: dict[str, str] = {
    "525": "user not found",
    "52e": "invalid credentials (wrong password or unknown user)",
    "530": "logon not permitted at this time (logon hours)",
    "531": "logon not permitted from this workstation",
    "532": "password expired",
    "533": "account disabled",
    "568": "too many security IDs in the token",
    "701": "account expired",
    "773": "password must be changed before first logon (must change password)",
    "775": "account locked out",
}

# Refusals AD (and Samba: tested for 533, 701, 773) gives only after the password matched; a
# wrong password on such an account gives 52e. The credential is right but unusable as is.
PASSWORD_MATCHED_CODES = frozenset({"532", "533", "701", "773"})

# userAccountControl bits (MS-ADTS 2.2.16) worth a word in the evidence.
UAC_FLAGS: dict[int, str] = {
    0x0002: "ACCOUNTDISABLE",
    0x0010: "LOCKOUT",
    0x0020: "PASSWD_NOTREQD",
    0x0200: "NORMAL_ACCOUNT",
    0x0800: "INTERDOMAIN_TRUST_ACCOUNT",
    0x1000: "WORKSTATION_TRUST_ACCOUNT",
    0x2000: "SERVER_TRUST_ACCOUNT",
    0x10000: "DONT_EXPIRE_PASSWORD",
    0x40000: "SMARTCARD_REQUIRED",
    0x80000: "TRUSTED_FOR_DELEGATION",
    0x100000: "NOT_DELEGATED",
    0x800000: "PASSWORD_EXPIRED",
}

WELL_KNOWN_SIDS: dict[str, str] = {
    "S-1-1-0": "Everyone",
    "S-1-5-2": "NETWORK",
    "S-1-5-4": "INTERACTIVE",
    "S-1-5-7": "ANONYMOUS LOGON",
    "S-1-5-9": "Enterprise Domain Controllers",
    "S-1-5-11": "Authenticated Users",
    "S-1-5-15": "This Organization",
    "S-1-5-64-10": "NTLM Authentication",
    "S-1-18-1": "Authentication authority asserted identity",
    "S-1-5-32-544": "BUILTIN\\Administrators",
    "S-1-5-32-545": "BUILTIN\\Users",
    "S-1-5-32-548": "BUILTIN\\Account Operators",
    "S-1-5-32-549": "BUILTIN\\Server Operators",
    "S-1-5-32-551": "BUILTIN\\Backup Operators",
    "S-1-5-32-554": "BUILTIN\\Pre-Windows 2000 Compatible Access",
}
RID_NAMES = {
    500: "Administrator", 512: "Domain Admins", 513: "Domain Users", 518: "Schema Admins",
    519: "Enterprise Admins", 520: "Group Policy Creator Owners",
    572: "Denied RODC Password Replication Group",
}

SID_ATTRIBUTES = {"objectsid", "tokengroups"}
FILETIME_ATTRIBUTES = {"pwdlastset", "lastlogontimestamp", "accountexpires", "lastlogon", "badpasswordtime"}
INT_ATTRIBUTES = {"useraccountcontrol", "msds-user-account-control-computed", "admincount",
                  "domainfunctionality", "forestfunctionality", "domaincontrollerfunctionality"}


def sid_to_str(raw: bytes) -> str:
    """Binary SID (MS-DTYP 2.4.2.2) -> S-1-... text."""
    if len(raw) < 8:
        raise ValueError("SID shorter than 8 bytes")
    revision, count = raw[0], raw[1]
    authority = int.from_bytes(raw[2:8], "big")
    if len(raw) != 8 + 4 * count:
        raise ValueError("SID length does not match its sub-authority count")
    subs = struct.unpack(f"<{count}I", raw[8:])
    return f"S-{revision}-{authority}" + "".join(f"-{s}" for s in subs)


def sid_to_bytes(sid: str) -> bytes:
    parts = sid.split("-")
    revision, authority, subs = int(parts[1]), int(parts[2]), [int(p) for p in parts[3:]]
    return bytes([revision, len(subs)]) + authority.to_bytes(6, "big") + struct.pack(f"<{len(subs)}I", *subs)


def filetime(value: int) -> str | None:
    """AD FILETIME (100 ns since 1601) -> ISO UTC; None for 0 / 'never' (0x7FFF...)."""
    if value <= 0 or value >= 0x7FFFFFFFFFFFFFFF:
        return None
    when = datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=value // 10)
    return when.isoformat().replace("+00:00", "Z")


def uac_flags(value: int) -> list[str]:
    return [name for bit, name in UAC_FLAGS.items() if value & bit]


def data_code(message: str) -> str | None:
    """The AD 'data XXX' code in a bind diagnostic message, e.g. '... data 52e, v4563'."""
    low = message.lower()
    i = low.find("data ")
    if i < 0:
        return None
    code = low[i + 5:].split(",")[0].strip()
    return code if code and all(c in "0123456789abcdef" for c in code) else None


def decode_value(attr: str, raw: bytes) -> Any:
    name = attr.lower()
    if name in SID_ATTRIBUTES:
        try:
            return sid_to_str(raw)
        except ValueError:
            return {"hex": raw.hex()}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"hex": raw.hex()}
    if name in FILETIME_ATTRIBUTES and text.lstrip("-").isdigit():
        return {"raw": int(text), "utc": filetime(int(text))}
    if name in INT_ATTRIBUTES and text.lstrip("-").isdigit():
        return int(text)
    return text


def parse_generalized_time(value: str) -> datetime | None:
    try:
        return datetime.strptime(value.split(".")[0].rstrip("Z"), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def default_group_name(ref: str) -> str:
    """A group reference (``RID:n`` or SID) by its well-known name, when it has one."""
    if ref.startswith("RID:") and ref[4:].isdigit():
        return RID_NAMES.get(int(ref[4:]), ref)
    return WELL_KNOWN_SIDS.get(ref, ref)
