"""What the RDP and SMB drivers' events mean, in words (evidence_kit/drivers/rdp/driver.py,
evidence_kit/drivers/smb/driver.py); :mod:`sentences` puts them in its table. Their ``tls`` and
``video`` events read like the web driver's (driver_sentences.py)."""

from __future__ import annotations

from collections.abc import Callable

from evidence_kit.report.wording import Facts, in_parens, joined, short

SECURITY = {"nla": "NLA (CredSSP)", "tls": "TLS without NLA", "rdstls": "RDSTLS", "rdp": "standard RDP security"}


def _rdp_negotiation(f: Facts) -> str:
    where = f"{f['host']}:{f['port']}" if f["host"] else "the server"
    if f.get("ok") is False:
        return f"RDP negotiation with {where} failed ({f['failure'] or 'error'}): {f['error']}"
    chosen = SECURITY.get(str(f.get("security") or ""), f["security"] or "an unknown mode")
    return (f"RDP negotiation with {where}: the server chose {chosen}"
            + in_parens(f"offered: {f['requested']}" if f["requested"] else "")
            + "; no user name or password sent yet")


def _rdp_logon(f: Facts) -> str:
    mode = SECURITY.get(str(f.get("security") or ""), f["security"])
    text = f"RDP logon{f' over {mode}' if mode else ''} ended {f['outcome'] or 'without an outcome'}"
    if f["reason"]:
        text += f": {f['reason']}"
    signals = f.get("signals")
    if isinstance(signals, list) and signals:
        text += f" (signs: {short(', '.join(str(s) for s in signals), 160)})"
    return text


def _smb_negotiate(f: Facts) -> str:
    where = f"{f['host']}:{f['port']}" if f["host"] else "the server"
    if f["error"]:
        return f"no SMB answer from {where}: {f['error']}"
    required = f.get("server_requires_signing")
    signing = "" if required is None else \
        ("signing required by the server" if required else "signing not required by the server")
    return f"SMB with {where}" + in_parens(joined(f"dialect {f['dialect']}" if f["dialect"] else "", signing,
                                                  f"cipher {f['cipher']}" if f["cipher"] else ""))


def _smb_server(f: Facts) -> str:
    if f["error"]:
        return "the server's NTLM challenge could not be read"
    name = f["dns_computer"] or f["netbios_computer"] or f["target_name"] or "the server"
    return (f"the server names itself {name}"
            + in_parens(joined(f"NetBIOS {f['netbios_computer']}" if f["netbios_computer"] else "",
                               f"domain {f['dns_domain'] or f['netbios_domain']}"
                               if f["dns_domain"] or f["netbios_domain"] else "",
                               f"its clock {f['server_time']}" if f["server_time"] else ""))
            + ", before any credential (NTLM challenge)")


def _smb_session(f: Facts) -> str:
    if f.get("ok") is True:
        how = joined("signed" if f.get("signed") else "", "encrypted" if f.get("encrypted") else "")
        return f"the server accepted the SMB logon of {f['user'] or 'the account'}" + in_parens(how)
    return (f"the server refused the SMB logon of {f['user'] or 'the account'}: "
            f"{f['reason'] or 'refused'}" + in_parens(f["status"]))


def _smb_tree_connect(f: Facts) -> str:
    if f.get("ok") is True:
        return f"opened the share {f['share']}" + (" (encrypted)" if f.get("encrypted") else "")
    return f"could not open the share {f['share']}: {f['reason'] or 'refused'}" + in_parens(f["status"])


def _smb_logoff(f: Facts) -> str:
    return "logged off the SMB session" if f.get("ok") is not False else f"SMB logoff failed: {f['error']}"


WINDOWS_SENTENCES: dict[str, Callable[[Facts], str]] = {
    "rdp_negotiation": _rdp_negotiation, "rdp_logon": _rdp_logon, "smb_negotiate": _smb_negotiate,
    "smb_server": _smb_server, "smb_session": _smb_session, "smb_tree_connect": _smb_tree_connect,
    "smb_logoff": _smb_logoff,
}
