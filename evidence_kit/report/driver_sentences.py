"""What each event of the drivers means, in words: SSH (evidence_kit/drivers/ssh.py and the
connection layer in evidence_kit/route/: proxies and jump hosts), telnet, web
(evidence_kit/drivers/web/) and Active Directory (evidence_kit/drivers/directory.py).

Each function builds one sentence from an entry's data, read through
:class:`~evidence_kit.report.wording.Facts` (every value short, visible text); :mod:`sentences`
puts them in its table beside the case's own events.
"""

from __future__ import annotations

from collections.abc import Callable

from evidence_kit.report.wording import Facts, in_parens, joined, quoted, short, summarize

# --- SSH (evidence_kit/drivers/ssh.py) -----------------------------------------------------

def _resolved(f: Facts) -> str:
    return f"looked up {f['host']}: {f['addresses'] or 'no address'}" + (f", port {f['port']}" if f["port"] else "")


def _connected(f: Facts) -> str:
    if f.get("dc") is not None:  # the directory driver
        return f"connected to the domain controller {f['dc']} over {f['transport'] or 'LDAP'}" + in_parens(f["peer"])
    text = f"connected to {f['peer'] or 'the server'}"
    return text + in_parens(joined(f"from {f['local']}" if f["local"] else "",
                               f"{f['seconds']} s" if f["seconds"] else ""))


def _legacy_unsupported(f: Facts) -> str:
    return f"old algorithms allowed by the profile are not offered by this SSH library: {f['algorithms']}"


def _ssh_handshake(f: Facts) -> str:
    return f"SSH handshake with {f['server_version'] or 'the server'}" + in_parens(joined(
        f"cipher {f['cipher']}" if f["cipher"] else "", f"MAC {f['mac']}" if f["mac"] else "",
        f"host key type {f['host_key_type']}" if f["host_key_type"] else "",
        f"old algorithms allowed: {f['legacy_allowed']}" if f["legacy_allowed"] else ""))


def _host_key(f: Facts) -> str:
    return f"the server presented the host key {joined(f['type'], f['fingerprint'], sep=' ')}"


def _host_key_check(f: Facts) -> str:
    result = f.get("result")
    source = in_parens(f["source"])
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
        return joined("offered the key", f["key_fingerprint"], sep=" ") + user
    if method == "keyboard-interactive":
        return f"tried keyboard-interactive login{user}, answering with the password (redacted)"
    return f"sent the password (redacted){user}"


def _auth(f: Facts) -> str:
    if f.get("result") == "accepted":
        return f"the server accepted the login as {f['username']}" + in_parens(
            f"by {f['methods']}" if f["methods"] else "")
    return f"authentication: {summarize(f.data)}"


def _auth_prompts(f: Facts) -> str:
    return "the server asked " + (f["prompts"] or "nothing") + in_parens(joined(f["title"], f["instructions"]))


def _banner(f: Facts) -> str:
    size = f" ({f['bytes']} bytes)" if f["bytes"] else ""
    return f"the server showed a banner before login{size}" + (f": {quoted(f['preview'])}" if f["preview"] else "")


def _interaction(f: Facts) -> str:
    return f"the device asked {quoted(f['question'])}; answered {quoted(f['answer'])}"


def _prompt(f: Facts) -> str:
    return f"reached the prompt {quoted(f['prompt'])}" + (f" (mode {f['mode']})" if f["mode"] else "")


def _command(f: Facts) -> str:
    head = f"ran {quoted(f['command'])}" + in_parens(f["purpose"])
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
        return f"entered {f['to']} mode with {quoted(f['command'])}"
    return f"tried to enter {f['to']} mode with {quoted(f['command'])}: refused" + (
        f" (still in {f['mode']})" if f["mode"] else "")


# --- routes: proxies and jump hosts (evidence_kit/route/), telnet (drivers/telnet.py) ------

def _route(f: Facts) -> str:
    return f"the connection's route: {f['summary'] or 'not described'}"


def _ssh_config(f: Facts) -> str:
    applied, ignored = f.get("applied"), f.get("ignored")
    counts = joined(f"{len(applied)} setting(s) applied" if isinstance(applied, list) else "",
                   f"{len(ignored)} ignored" if isinstance(ignored, list) and ignored else "")
    return f"read the OpenSSH client configuration {f['file']}" + (f" for {f['alias']}" if f["alias"] else "") + (
        f": {counts}" if counts else "")


def _hop_reused(f: Facts) -> str:
    return (f"reused this run's connection to the jump host {f['hop']} ({f['address']})"
            + (f", opened by {f['opened_by']}" if f["opened_by"] else "")
            + "; its host key was checked and its login made when it was opened")


def _proxy_connected(f: Facts) -> str:
    return (f"connected through the proxy {f['url'] or f['name']}" + in_parens(f["proxy_address"])
            + f" to {f['destination'] or 'the target'}" + (f", the name resolved by {f['resolved_by']}"
                                                           if f["resolved_by"] else ""))


def _bridge_opened(f: Facts) -> str:
    return (f"opened a local bridge on {f['listen']} ({f['kind'] or 'a local forward'}) so the connection "
            "goes out through the route")


def _bridge_closed(f: Facts) -> str:
    connections, failures = f.get("connections"), f.get("failures")
    tally = joined(f"{connections} connection(s) carried" if isinstance(connections, int) else "",
                   f"{len(failures)} refused" if isinstance(failures, list) and failures else "")
    return f"closed the local bridge on {f['listen']}" + (f": {tally}" if tally else "")


def _hop_lost(f: Facts) -> str:
    return f"the run's shared connection to the jump host {f['hop']} ended ({f['detail']}); opened it again once"


def _route_connected(f: Facts) -> str:
    through = f" through {f['connected_by']}" if f["connected_by"] else ""
    return f"reached {f['destination'] or 'the target'}{through}"


def _agent(f: Facts) -> str:
    keys = f.get("keys")
    shown = [short(k.get("fingerprint"), 80) for k in keys if isinstance(k, dict)] if isinstance(keys, list) else []
    return f"the SSH agent offered {len(shown)} key(s)" + (f": {', '.join(shown)}" if shown else "")


def _insecure_transport(f: Facts) -> str:
    return (f"{f['transport'] or 'this transport'} has no encryption and no server identity: "
            "the user name and password cross the network in clear")


def _telnet_login(f: Facts) -> str:
    step = f.get("step")
    if step == "refused":
        return "the device refused the telnet login" + (f": {quoted(f['said'])}" if f["said"] else "")
    if step == "username sent":
        return "sent the user name" + (f" {f['username']}" if f["username"] else "")
    if step == "password sent":
        return "sent the password (redacted here; it crossed the network unencrypted)"
    if step == "logged in":
        return "logged in over telnet"
    return f"telnet: {f['step'] or summarize(f.data)}"


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
        return verb("took", "take") + (f" the screenshot {quoted(f.words('name'))}" if f["name"] else " a screenshot")
    if action == "manual":
        return "a step for the technician" + in_parens(f["name"])
    return (f["action"] or "a step") + in_parens(f["name"])


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
    return f"opened a fresh, isolated browser context: {joined(f['browser'], f['version'], sep=' ')} ({mode})"


def _tls_browser(f: Facts) -> str:
    if not f.get("available"):
        return f"the browser's own certificate for {f['origin']} could not be read" + in_parens(f["reason"])
    if f.get("same_as_handshake"):
        return f"the browser saw the same certificate as the TLS check ({f['leaf_sha256']})"
    return f"the browser saw a DIFFERENT certificate from the TLS check: {f['leaf_sha256']}"


def _manual(f: Facts) -> str:
    if f.get("waiting"):
        return f"paused for the technician: {f['message']}"
    return "the technician went on" + (f" after {f['waited_s']} s" if f["waited_s"] else "")


def _screenshot_failed(f: Facts) -> str:
    return f"the screenshot {quoted(f.words('label'))} could not be taken: {f['reason']}"


def _navigation(f: Facts) -> str:
    title = quoted(f["title"]) if f["title"] else "a page without a title"
    text = f"the browser ended on {title} at {f['final_url'] or 'an unknown address'}"
    server = f.get("server")
    addr = ""
    if isinstance(server, dict) and server.get("ipAddress"):
        addr = f"server {short(server.get('ipAddress'), 60)}:{short(server.get('port'), 10)}"
    return text + in_parens(joined(f"HTTP {f['status']}" if f["status"] else "", addr))


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


DRIVER_SENTENCES: dict[str, Callable[[Facts], str]] = {
    "resolved": _resolved, "connected": _connected, "legacy_unsupported": _legacy_unsupported,
    "ssh_handshake": _ssh_handshake, "host_key": _host_key, "host_key_check": _host_key_check,
    "auth_attempt": _auth_attempt, "auth": _auth, "auth_prompts": _auth_prompts, "banner": _banner,
    "interaction": _interaction, "prompt": _prompt, "command": _command, "elevation": _elevation, "tls": _tls,
    "step": _step, "browser": _browser, "tls_browser": _tls_browser, "manual": _manual,
    "screenshot_failed": _screenshot_failed, "navigation": _navigation, "video": _video,
    "trace_dropped": _trace_dropped, "route": _route, "ssh_config": _ssh_config, "hop_reused": _hop_reused,
    "proxy_connected": _proxy_connected, "route_connected": _route_connected, "bridge_opened": _bridge_opened,
    "bridge_closed": _bridge_closed, "hop_lost": _hop_lost, "agent": _agent,
    "insecure_transport": _insecure_transport, "telnet_login": _telnet_login, "connect_failed": _connect_failed,
    "rootdse": _rootdse, "bind": _bind, "privilege": _privilege, "whoami": _whoami, "account": _account,
}
