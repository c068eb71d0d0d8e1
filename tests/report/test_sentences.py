"""Timeline rows in words: every event the case and the drivers journal has a sentence, the
sentences say what a reviewer needs, and odd data (a journal that failed verification) never
stops the report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import evidence_kit
from evidence_kit.case.outcome import Outcome
from evidence_kit.report.sentences import OUTCOME_WORDS, SENTENCES, sentence

PACKAGE = Path(evidence_kit.__file__).parent
# session.event("name", ...), journal(session, "name", ...), journal.append("name", ...)
WRITES = re.compile(r"""(?:\.event|\bjournal|journal\.append)\(\s*(?:[\w.]+\s*,\s*)?["']([a-z][a-z0-9_]*)["']""")


def journaled_events() -> dict[str, list[str]]:
    """Every event name the case, the ssh, telnet, web and directory drivers and the SSH routes
    (proxies, jump hosts) write, with where.

    A driver added later gets the generic sentence until it adds its own to the table (adding
    a driver must not require editing the report), so only these are required here."""
    sources = {*PACKAGE.glob("case/*.py"), *PACKAGE.glob("route/**/*.py")}
    for kind in ("ssh", "telnet", "web", "directory"):
        sources |= {*PACKAGE.glob(f"drivers/{kind}*.py"), *PACKAGE.glob(f"drivers/{kind}/**/*.py")}
    found: dict[str, list[str]] = {}
    for path in sorted(sources):
        for name in WRITES.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, []).append(str(path.relative_to(PACKAGE)))
    return found


def test_every_journaled_event_has_a_sentence() -> None:
    events = journaled_events()
    # the scan itself works: it finds events of the case, SSH, web and directory drivers
    for name in ("target_started", "artifact_added", "host_key_check", "step", "navigation", "bind"):
        assert name in events, name
    missing = {name: where for name, where in events.items() if name not in SENTENCES}
    assert missing == {}, f"events without a sentence in evidence_kit/report/sentences.py: {missing}"


def test_every_outcome_has_words() -> None:
    assert {o.value for o in Outcome} <= set(OUTCOME_WORDS)


@pytest.mark.parametrize(("event", "data", "expected"), [
    ("step", {"index": 2, "action": "fill", "field": "password", "selector": "#password", "result": "done"},
     "step 3: typed the password (redacted) into #password"),
    ("step", {"index": 1, "action": "fill", "field": "username", "selector": "#user", "result": "done"},
     "step 2: typed the user name into #user"),
    ("step", {"index": 4, "action": "totp", "selector": "#otp", "result": "success_early"},
     "step 5 (type a fresh one-time code (redacted) into #otp): not needed, the login had already succeeded"),
    ("step", {"index": 5, "action": "click", "result": "skipped_after_success"},
     "step 6 (click): skipped, the login had already succeeded"),
    ("step", {"index": 0, "action": "goto", "url": "https://portal.example/", "result": "done", "elapsed_ms": 120},
     "step 1: opened https://portal.example/ (120 ms)"),
    ("artifact_added", {"kind": "screenshot", "label": "after-submit", "seq": 2, "url": "https://p/"},
     "screenshot 2: after submit \u2014 original, as captured, of https://p/"),
    ("artifact_added", {"kind": "screenshot_stamped", "label": "after-submit", "seq": 2},
     "screenshot 2: after submit \u2014 stamped copy"),
    ("connected", {"peer": "127.0.0.1:22", "local": "127.0.0.1:40000", "seconds": 0.004},
     "connected to 127.0.0.1:22 (from 127.0.0.1:40000, 0.004 s)"),
    ("connected", {"dc": "dc1.example:636", "transport": "ldaps", "ok": True, "peer": "10.0.0.5:636"},
     "connected to the domain controller dc1.example:636 over ldaps (10.0.0.5:636)"),
    ("host_key_check", {"result": "match", "expected": "SHA256:abc", "presented": "SHA256:abc",
                        "source": "inventory host_key"},
     "host key SHA256:abc matched the pin (inventory host_key)"),
    ("host_key_check", {"result": "mismatch", "expected": "SHA256:old", "presented": "SHA256:new", "source": "x"},
     "host key SHA256:new did NOT match the pin SHA256:old (x); no credential was sent"),
    ("auth_attempt", {"method": "password", "username": "admin"}, "sent the password (redacted) as admin"),
    ("auth", {"result": "accepted", "username": "admin", "methods": ["password"]},
     "the server accepted the login as admin (by password)"),
    ("command", {"command": "show version", "purpose": "identity", "result": "ok", "output_lines": 12},
     "ran \u201cshow version\u201d (identity): 12 lines of output"),
    ("elevation", {"to": "privilege_exec", "command": "enable", "result": "refused", "mode": "exec"},
     "tried to enter privilege_exec mode with \u201cenable\u201d: refused (still in exec)"),
    ("tls", {"host": "p", "port": 443, "protocol": "TLSv1.3", "leaf_sha256": "ab" * 32,
             "trust": {"accepted": False, "basis": "untrusted", "reason": "self-signed certificate"}},
     f"TLSv1.3 with p:443: certificate SHA-256 {'ab' * 32} NOT accepted: self-signed certificate; "
     "nothing was typed"),
    ("bind", {"name": "alice@corp", "ok": False, "ad_meaning": "password expired", "password_matched": True},
     "the directory refused the login (LDAP bind) as alice@corp: password expired; "
     "the password itself was accepted"),
    ("hop_host_key_check", {"hop": "bastion", "address": "10.0.0.1:22", "result": "match", "presented": "SHA256:b",
                            "expected": "SHA256:b", "source": "hop host_key"},
     "jump host bastion: host key SHA256:b matched the pin (hop host_key)"),
    ("route_connected", {"destination": "10.1.1.1:22", "connected_by": "hop 'bastion'", "seconds": 0.1},
     "reached 10.1.1.1:22 through hop 'bastion'"),
    ("telnet_login", {"step": "password sent", "in_clear": True},
     "sent the password (redacted here; it crossed the network unencrypted)"),
    ("target_finished", {"outcome": "auth_failed", "detail": "wrong password"},
     "finished: the credential was refused (auth_failed): wrong password"),
    ("credential_commitment", {"field": "password", "scheme": "scrypt+hmac-sha256", "commitment": "x"},
     "recorded a commitment to the password tested (scrypt+hmac-sha256); the password itself is not recorded"),
])
def test_sentences(event: str, data: dict, expected: str) -> None:
    assert sentence(event, data) == expected


def test_unknown_event_gets_a_generic_readable_sentence() -> None:
    got = sentence("cable_unplugged", {"port": "Gi0/1", "empty": ""})
    assert got == "recorded \u201ccable unplugged\u201d: port: Gi0/1"
    assert sentence("cable_unplugged", {}) == "recorded \u201ccable unplugged\u201d"
    assert sentence("", None) == "recorded \u201can entry without a name\u201d"


ODD = [{}, {"index": "x", "action": 5, "trust": "yes", "server": [], "privileged_groups": "all", "chain": {},
            "result": ["match"], "tool": "v1", "clock_offset_seconds": "late", "methods": {"a": 1}},
       {k: None for k in ("outcome", "field", "selector", "peer", "label", "seq")},
       {"kind": "screenshot", "label": "\x1b[31mred\u202e", "seq": {"x": 1}}]


@pytest.mark.parametrize("data", ODD)
def test_odd_data_never_breaks_a_sentence(data: dict) -> None:
    for event in SENTENCES:
        text = sentence(event, data)
        assert isinstance(text, str) and text and "\x1b" not in text and "\u202e" not in text, (event, text)
    assert sentence("step", "not a dict").startswith("recorded \u201cstep\u201d")


def test_long_values_are_bounded() -> None:
    text = sentence("command", {"command": "x" * 10_000, "purpose": "identity", "result": "ok"})
    assert len(text) < 400 and text.count("x") < 200
