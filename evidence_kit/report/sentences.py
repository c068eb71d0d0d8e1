"""What each journal entry means, in words a reviewer reads.

The timeline of a target says "typed the password (redacted) into #password" rather than
``action: fill; field: password; selector: #password``. :data:`SENTENCES` maps every event the
case (``evidence_kit/case/case.py``) and the drivers (``evidence_kit/drivers/``: ssh, web,
directory) journal to a function that builds the sentence from the entry's data; an event not
in the table gets a generic sentence built from its name and fields. The raw fields of every
entry stay in the report's journal appendix, so nothing is lost in the wording.

Every value placed in a sentence passes :func:`~evidence_kit.report.wording.short` (one
visible line, bounded); a sentence is plain text and the template escapes it. A journal that
failed verification may hold anything in any field: a function that trips over an odd value
falls back to the generic sentence instead of stopping the report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evidence_kit.report.wording import short, summarize

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

class Facts:
    """An entry's data, read defensively: every value comes back as short visible text."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __getitem__(self, key: str) -> str:
        value = self.data.get(key)
        if value in (None, "", [], {}):
            return ""
        if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            return short(", ".join(str(v) for v in value), 160)  # a list of names reads as one
        return short(value, 160)

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def words(self, key: str) -> str:
        """A label such as ``after-submit`` as words: ``after submit``."""
        return self[key].replace("-", " ").replace("_", " ")


def outcome_words(outcome: str) -> str:
    return OUTCOME_WORDS.get(outcome, outcome.replace("_", " "))


def _q(text: str) -> str:
    return f"\u201c{text}\u201d"


def _join(*parts: str, sep: str = ", ") -> str:
    return sep.join(p for p in parts if p)


def _paren(text: str) -> str:
    return f" ({text})" if text else ""


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
    return _join("created the case", f["case_id"], sep=" ")


def _authorization_attached(f: Facts) -> str:
    return "attached the authorization document" + _paren(f["original_name"])


def _run_started(f: Facts) -> str:
    tool = f.get("tool")
    version = short(tool.get("version"), 40) if isinstance(tool, dict) and tool.get("version") else ""
    return "started a capture run" + (f" with evidence-kit {version}" if version else "")


def _run_finished(f: Facts) -> str:
    return "finished the capture run" + _paren(summarize(f.data) if f.data else "")


def _journal_recovered(f: Facts) -> str:
    return "set aside a torn last journal line left by an interrupted run (kept as a file)"


def _artifact_recovered(f: Facts) -> str:
    return "found a file an interrupted earlier run wrote but could not journal; recorded as found"


# --- SSH (evidence_kit/drivers/ssh.py) -----------------------------------------------------

def _resolved(f: Facts) -> str:
    return f"looked up {f['host']}: {f['addresses'] or 'no address'}" + (f", port {f['port']}" if f["port"] else "")


def _connected(f: Facts) -> str:
    if f.get("dc") is not None:  # the directory driver
        return f"connected to the domain controller {f['dc']} over {f['transport'] or 'LDAP'}" + _paren(f["peer"])
    text = f"connected to {f['peer'] or 'the server'}"
    return text + _paren(_join(f"from {f['local']}" if f["local"] else "",
                               f"{f['seconds']} s" if f["seconds"] else ""))


def _legacy_unsupported(f: Facts) -> str:
    return f"old algorithms allowed by the profile are not offered by this SSH library: {f['algorithms']}"


def _ssh_handshake(f: Facts) -> str:
    return f"SSH handshake with {f['server_version'] or 'the server'}" + _paren(_join(
        f"cipher {f['cipher']}" if f["cipher"] else "", f"MAC {f['mac']}" if f["mac"] else "",
        f"host key type {f['host_key_type']}" if f["host_key_type"] else "",
        f"old algorithms allowed: {f['legacy_allowed']}" if f["legacy_allowed"] else ""))


def _host_key(f: Facts) -> str:
    return f"the server presented the host key {_join(f['type'], f['fingerprint'], sep=' ')}"


def _host_key_check(f: Facts) -> str:
    result = f.get("result")
    source = _paren(f["source"])
    if result == "match":
        return f"host key {f['presented']} matched the pin{source}"
    if result == "mismatch":
        return (f"host key {f['presented']} did NOT match the pin {f['expected']}{source}; "
                "no credential was sent")
    return f"host key {f['fingerprint']} was not pinned: nothing to compare it with"


def _auth_attempt(f: Facts) -> str:
    user = f" as {f['username']}" if f["username"] else ""
    method = f.get("method")
    if method == "publickey":
        return _join("offered the key", f["key_fingerprint"], sep=" ") + user
    if method == "keyboard-interactive":
        return f"tried keyboard-interactive login{user}, answering with the password (redacted)"
    return f"sent the password (redacted){user}"


def _auth(f: Facts) -> str:
    if f.get("result") == "accepted":
        return f"the server accepted the login as {f['username']}" + _paren(
            f"by {f['methods']}" if f["methods"] else "")
    return f"authentication: {summarize(f.data)}"


def _auth_prompts(f: Facts) -> str:
    return "the server asked " + (f["prompts"] or "nothing") + _paren(_join(f["title"], f["instructions"]))


def _banner(f: Facts) -> str:
    size = f" ({f['bytes']} bytes)" if f["bytes"] else ""
    return f"the server showed a banner before login{size}" + (f": {_q(f['preview'])}" if f["preview"] else "")


def _interaction(f: Facts) -> str:
    return f"the device asked {_q(f['question'])}; answered {_q(f['answer'])}"


def _prompt(f: Facts) -> str:
    return f"reached the prompt {_q(f['prompt'])}" + (f" (mode {f['mode']})" if f["mode"] else "")


def _command(f: Facts) -> str:
    head = f"ran {_q(f['command'])}" + _paren(f["purpose"])
    result = f.get("result")
    if result == "timeout":
        return f"{head}: no prompt came back in time"
    if result == "error":
        return f"{head}: the device answered with an error: {f['error']}"
    lines = f["output_lines"]
    return head + (f": {lines} line{'' if lines == '1' else 's'} of output" if lines else "")


def _elevation(f: Facts) -> str:
    result = f.get("result")
    if result == "skipped":
        return f"did not try to enter {f['to']} mode: {f['detail']}"
    if result == "ok":
        return f"entered {f['to']} mode with {_q(f['command'])}"
    return f"tried to enter {f['to']} mode with {_q(f['command'])}: refused" + (
        f" (still in {f['mode']})" if f["mode"] else "")


# --- web (evidence_kit/drivers/web) and TLS ------------------------------------------------

TRUST_WORDS = {
    "pinned": "matched the pin",
    "system_trust": "trusted by the system's certificate store",
    "allow_self_signed": "not trusted by the system; accepted because the target allows self-signed",
}


def _tls(f: Facts) -> str:
    if f.get("scheme") == "http":
        return "plain HTTP: no TLS, so the server is not authenticated"
    where = f"{f['host']}:{f['port']}" if f["host"] else "the server"
    text = f"{f['protocol'] or 'TLS'} with {where}"
    if f["leaf_sha256"]:
        text += f": certificate SHA-256 {f['leaf_sha256']}"
    trust = f.get("trust")
    if isinstance(trust, dict):
        basis = str(trust.get("basis") or "")
        if trust.get("accepted") and basis in TRUST_WORDS:
            return f"{text} {TRUST_WORDS[basis]}"
        if not trust.get("accepted"):
            return f"{text} NOT accepted: {short(trust.get('reason') or basis, 200)}; nothing was typed"
    if f.get("verified") is False:
        return f"{text} (not trusted by the system)"
    return text


def _step(f: Facts) -> str:
    """A profile step: what was done (past tense), or what the step was and why it was not
    done ("step 6 (click): skipped: the login had already succeeded")."""
    number = f.get("index")
    step = f"step {number + 1}" if isinstance(number, int) and not isinstance(number, bool) else "step"
    result = str(f.get("result") or "")
    if result in ("done", "configured", ""):
        took = f" ({f['elapsed_ms']} ms)" if f["elapsed_ms"] else ""
        return f"{step}: {_step_action(f, past=True)}{took}"
    return f"{step} ({_step_action(f, past=False)}): {STEP_RESULTS.get(result, short(result, 80))}"


def _step_action(f: Facts, past: bool) -> str:
    action = str(f.get("action") or "")
    selector = f["selector"] + (f" in frame {f['frame']}" if f["frame"] else "") if f["selector"] else ""
    into = f" into {selector}" if selector else ""
    field = f["field"]

    def verb(done: str, todo: str) -> str:
        return done if past else todo

    if action == "goto":
        return verb("opened", "open") + f" {f['url'] or 'the login page'}"
    if action == "fill":
        what = "fixed text" if not field else "the user name" if field == "username" else f"the {field} (redacted)"
        return verb("typed", "type") + f" {what}{into}"
    if action == "totp":
        return verb("typed", "type") + f" a fresh one-time code (redacted){into}"
    if action == "click":
        return verb("clicked", "click") + (f" {selector}" if selector else "")
    if action == "press":
        return verb("pressed", "press") + f" {f['key'] or 'a key'}" + (f" in {selector}" if selector else "")
    if action == "wait":
        awaited = f["name"] or selector
        return verb("waited", "wait") + (f" for {awaited}" if awaited else "")
    if action == "http_auth":
        return verb("set", "set") + " the site's HTTP login (user name and password, redacted)"
    if action == "screenshot":
        return verb("took", "take") + (f" the screenshot {_q(f.words('name'))}" if f["name"] else " a screenshot")
    if action == "manual":
        return "a step for the technician" + _paren(f["name"])
    return (f["action"] or "a step") + _paren(f["name"])


STEP_RESULTS = {
    "skipped": "skipped, not on the page (optional)",
    "success_early": "not needed, the login had already succeeded",
    "manual": "done by the technician",
    "manual_after_timeout": "finished by hand by the technician",
    "not_needed": "not needed",
    "skipped_after_manual": "skipped, the technician had finished the login by hand",
    "skipped_after_success": "skipped, the login had already succeeded",
}


def _browser(f: Facts) -> str:
    mode = "headless" if f.get("headless") else "visible window"
    return f"opened a fresh, isolated browser context: {_join(f['browser'], f['version'], sep=' ')} ({mode})"


def _tls_browser(f: Facts) -> str:
    if not f.get("available"):
        return f"the browser's own certificate for {f['origin']} could not be read" + _paren(f["reason"])
    if f.get("same_as_handshake"):
        return f"the browser saw the same certificate as the TLS check ({f['leaf_sha256']})"
    return f"the browser saw a DIFFERENT certificate from the TLS check: {f['leaf_sha256']}"


def _manual(f: Facts) -> str:
    if f.get("waiting"):
        return f"paused for the technician: {f['message']}"
    return "the technician went on" + (f" after {f['waited_s']} s" if f["waited_s"] else "")


def _screenshot_failed(f: Facts) -> str:
    return f"the screenshot {_q(f.words('label'))} could not be taken: {f['reason']}"


def _navigation(f: Facts) -> str:
    title = _q(f["title"]) if f["title"] else "a page without a title"
    text = f"the browser ended on {title} at {f['final_url'] or 'an unknown address'}"
    server = f.get("server")
    addr = ""
    if isinstance(server, dict) and server.get("ipAddress"):
        addr = f"server {short(server.get('ipAddress'), 60)}:{short(server.get('port'), 10)}"
    return text + _paren(_join(f"HTTP {f['status']}" if f["status"] else "", addr))


def _video(f: Facts) -> str:
    if f.get("recorded") is False:
        return f"no screen video: {f['reason'] or 'not recorded'}"
    return "screen video: " + summarize(f.data)


def _trace_dropped(f: Facts) -> str:
    return f"the browser trace was not kept: {f['reason'] or 'no reason given'}"


# --- Active Directory (evidence_kit/drivers/directory.py) ----------------------------------

def _connect_failed(f: Facts) -> str:
    return f"could not connect to {f['dc'] or 'the domain controller'} ({f['transport'] or 'LDAP'}): {f['error']}"


def _rootdse(f: Facts) -> str:
    text = "read the directory's public facts (RootDSE)" + (f" from {f['dnsHostName']}" if f["dnsHostName"] else "")
    offset = f.get("clock_offset_seconds")
    if isinstance(offset, int | float) and not isinstance(offset, bool):
        text += f"; its clock is {offset:+.1f} s from the capture host's"
    return text


def _bind(f: Facts) -> str:
    name = f["name"] or "the account"
    if f.get("ok"):
        return f"logged in (LDAP bind) as {name} with the password (redacted)"
    why = f["ad_meaning"] or f["description"] or f["message"] or "refused"
    text = f"the directory refused the login (LDAP bind) as {name}: {why}"
    if f.get("password_matched"):
        text += "; the password itself was accepted"
    return text


def _privilege(f: Facts) -> str:
    groups = f.get("privileged_groups")
    held = [short(g.get("name") or g.get("group"), 80) for g in groups
            if isinstance(g, dict) and g.get("held")] if isinstance(groups, list) else []
    text = "the session holds " + (", ".join(held) if held else "none of the privileged groups")
    if f.get("satisfied") is True:
        return text + "; the expected groups are held"
    if f.get("satisfied") is False:
        return text + "; the expected groups are NOT held"
    return text


def _whoami(f: Facts) -> str:
    return f"the directory says this session is {f['authzid'] or 'anonymous'} (Who am I?)"


def _account(f: Facts) -> str:
    name = f["userPrincipalName"] or f["sAMAccountName"] or f["dn"] or "the account"
    return f"read the account {name}" + (" (it must change its password)" if f.get("must_change_password") else "")


SENTENCES: dict[str, Callable[[Facts], str]] = {
    # the case (evidence_kit/case/case.py)
    "case_created": _case_created, "authorization_attached": _authorization_attached,
    "run_started": _run_started, "run_finished": _run_finished, "journal_recovered": _journal_recovered,
    "artifact_recovered": _artifact_recovered,
    "target_started": _target_started, "target_finished": _target_finished,
    "artifact_added": _artifact_added, "credential_commitment": _credential_commitment,
    # SSH
    "resolved": _resolved, "connected": _connected, "legacy_unsupported": _legacy_unsupported,
    "ssh_handshake": _ssh_handshake, "host_key": _host_key, "host_key_check": _host_key_check,
    "auth_attempt": _auth_attempt, "auth": _auth, "auth_prompts": _auth_prompts, "banner": _banner,
    "interaction": _interaction, "prompt": _prompt, "command": _command, "elevation": _elevation,
    # web
    "tls": _tls, "step": _step, "browser": _browser, "tls_browser": _tls_browser, "manual": _manual,
    "screenshot_failed": _screenshot_failed, "navigation": _navigation, "video": _video,
    "trace_dropped": _trace_dropped,
    # Active Directory
    "connect_failed": _connect_failed, "rootdse": _rootdse, "bind": _bind, "privilege": _privilege,
    "whoami": _whoami, "account": _account,
}


def generic(event: str, data: Any) -> str:
    """The sentence of an event this table does not know: its name in words and its fields."""
    name = short(event, 80).replace("_", " ") or "an entry without a name"
    details = summarize(data) if data not in (None, "", [], {}) else ""
    return f"recorded {_q(name)}" + (f": {short(details, 300)}" if details else "")


def sentence(event: str, data: Any) -> str:
    """One journal entry in words."""
    build = SENTENCES.get(event)
    if build is not None and isinstance(data, dict):
        try:
            return build(Facts(data))
        except (TypeError, ValueError, AttributeError, KeyError):  # odd values in a lying journal
            pass
    return generic(event, data)
