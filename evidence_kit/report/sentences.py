"""What each journal entry means, in words a reviewer reads.

The timeline of a target says "typed the password (redacted) into #password" rather than
``action: fill; field: password; selector: #password``. :data:`SENTENCES` maps every event the
case (``evidence_kit/case/``) journals, and (from :mod:`driver_sentences`) every event of the
drivers (ssh, telnet, web, directory) and of the SSH routes (``evidence_kit/route/``), to a
function that builds the sentence from the entry's data; an event not in the table gets a
generic sentence built from its name and fields. The raw fields of every entry stay in the
report's journal appendix, so nothing is lost in the wording.

Every value placed in a sentence passes :func:`~evidence_kit.report.wording.short` (one
visible line, bounded); a sentence is plain text and the template escapes it. A journal that
failed verification may hold anything in any field: a function that trips over an odd value
falls back to the generic sentence instead of stopping the report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evidence_kit.report.driver_sentences import DRIVER_SENTENCES
from evidence_kit.report.windows_sentences import WINDOWS_SENTENCES
from evidence_kit.report.wording import Facts, in_parens, joined, quoted, short, summarize

# The words for each outcome (evidence_kit/case/outcome.py), for the cover and the timeline.
OUTCOME_WORDS = {
    "login_ok": "logged in with the expected access",
    "login_limited": "logged in, but with less access than expected",
    "mfa_required": "stopped at a one-time-code (MFA) prompt",
    "auth_failed": "the credential was refused",
    "host_key_mismatch": "not tried: the server's host key did not match the pinned key",
    "certificate_mismatch": "not tried: the server's certificate was not accepted",
    "unreachable": "not tried: the target could not be reached",
    "timeout": "did not finish in time",
    "error": "stopped on an error",
    "no outcome recorded": "no outcome was recorded",
}

ARTIFACT_WORDS = {
    "asciicast": "recorded the terminal session (asciicast, with timing)",
    "transcript": "wrote the terminal session as text",
    "banner": "kept the banner the server showed before login",
    "host_key": "kept the server's host key",
    "certificate_chain": "kept the server's certificate chain",
    "navigation": "kept the list of pages the browser loaded",
    "trace": "kept the browser trace (typed secrets scrubbed)",
    "video": "kept the screen video",
    "ldap_transcript": "kept the LDAP conversation",
    "ldap_record": "kept the LDAP facts as JSON",
}


def outcome_words(outcome: str) -> str:
    return OUTCOME_WORDS.get(outcome, outcome.replace("_", " "))


# --- the case ------------------------------------------------------------------------------

def _target_started(f: Facts) -> str:
    return f"started the {f['kind'] or 'login'} login to {f['address'] or 'the target'}" + (
        f" with profile {f['profile']}" if f["profile"] else "")


def _target_finished(f: Facts) -> str:
    outcome = str(f.get("outcome") or "error")
    text = f"finished: {outcome_words(outcome)} ({short(outcome, 40)})"
    return text + (f": {f['detail']}" if f["detail"] else "")


def _artifact_added(f: Facts) -> str:
    kind = str(f.get("kind") or "")
    if kind in ("screenshot", "screenshot_stamped"):
        label = f.words("label") or "screen"
        seq = f["seq"]
        head = f"screenshot {seq}: {label}" if seq else f"screenshot: {label}"
        if kind == "screenshot_stamped":
            return f"{head} \u2014 stamped copy"
        return f"{head} \u2014 original, as captured" + (f", of {f['url']}" if f["url"] else "")
    if kind == "host_key" and f["fingerprint"]:
        return f"kept the server's host key {f['fingerprint']}"
    if kind == "certificate_chain" and f["leaf_sha256"]:
        return f"kept the server's certificate chain (leaf SHA-256 {f['leaf_sha256']})"
    if kind in ARTIFACT_WORDS:
        return ARTIFACT_WORDS[kind]
    return f"kept a file ({short(kind, 60) or 'unnamed kind'})"


def _credential_commitment(f: Facts) -> str:
    field = f["field"] or "credential"
    return (f"recorded a commitment to the {field} tested ({f['scheme'] or 'salted hash'}); "
            f"the {field} itself is not recorded")


def _case_created(f: Facts) -> str:
    return joined("created the case", f["case_id"], sep=" ")


def _authorization_attached(f: Facts) -> str:
    return "attached the authorization document" + in_parens(f["original_name"])


def _run_started(f: Facts) -> str:
    tool = f.get("tool")
    version = short(tool.get("version"), 40) if isinstance(tool, dict) and tool.get("version") else ""
    return "started a capture run" + (f" with evidence-kit {version}" if version else "")


def _run_finished(f: Facts) -> str:
    return "finished the capture run" + in_parens(summarize(f.data) if f.data else "")


def _journal_recovered(f: Facts) -> str:
    return "set aside a torn last journal line left by an interrupted run (kept as a file)"


def _artifact_recovered(f: Facts) -> str:
    return "found a file an interrupted earlier run wrote but could not journal; recorded as found"


SENTENCES: dict[str, Callable[[Facts], str]] = {
    # the case (evidence_kit/case/)
    "case_created": _case_created, "authorization_attached": _authorization_attached, "run_started": _run_started,
    "run_finished": _run_finished, "journal_recovered": _journal_recovered,
    "artifact_recovered": _artifact_recovered, "target_started": _target_started,
    "target_finished": _target_finished, "artifact_added": _artifact_added,
    "credential_commitment": _credential_commitment,
    **DRIVER_SENTENCES,
    **WINDOWS_SENTENCES,  # the rdp and smb drivers
}


def generic(event: str, data: Any) -> str:
    """The sentence of an event this table does not know: its name in words and its fields."""
    name = short(event, 80).replace("_", " ") or "an entry without a name"
    details = summarize(data) if data not in (None, "", [], {}) else ""
    return f"recorded {quoted(name)}" + (f": {short(details, 300)}" if details else "")


def sentence(event: str, data: Any) -> str:
    """One journal entry in words. A jump host's own steps (``hop_connected``, ``hop_auth``...,
    journaled by evidence_kit/route/sshlink.py) read as the step, said of that hop."""
    build = SENTENCES.get(event)
    hop = ""
    if build is None and event.startswith("hop_") and isinstance(data, dict):
        build = SENTENCES.get(event[4:])
        hop = f"jump host {short(data.get('hop'), 80)}: " if data.get("hop") else "jump host: "
    if build is not None and isinstance(data, dict):
        try:
            return hop + build(Facts(data))
        except (TypeError, ValueError, AttributeError, KeyError):  # odd values in a lying journal
            pass
    return generic(event, data)
