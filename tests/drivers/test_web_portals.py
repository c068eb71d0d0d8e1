"""Every shipped web profile, end to end, against a local fixture portal that reproduces its
login form structure (tests/servers/portals/). Also TOTP (a real code checked by the portal),
push MFA in assisted mode, and the evidence rules over the whole case."""

from __future__ import annotations

import re
from typing import Any

import pytest

from evidence_kit.case.outcome import Outcome
from evidence_kit.drivers.base import RunOptions
from evidence_kit.profiles import ProfileRegistry
from tests.drivers.web_support import artifacts, dump, entries, result, run_web
from tests.helpers import assert_no_secrets, random_password
from tests.servers.portals import ADMIN, PRODUCTS, PUSH_USER, TOTP_USER

pytestmark = pytest.mark.slow

WRONG = random_password("Nope")
MFA_PRODUCTS = [k for k, p in PRODUCTS.items() if p.mfa]
MFA_PAGE_PRODUCTS = [k for k, p in PRODUCTS.items() if p.mfa == "totp"]  # a separate code page


def _target(name: str, key: str, user: str, password: str = "env:PORTAL_PW", **more: Any) -> dict[str, Any]:  # noqa: S107 - a reference
    return {"name": name, "profile": PRODUCTS[key].profile, "url": "{base}/" + key + "/", "username": user,
            "password": password, **more}


@pytest.fixture(scope="module")
def portal_run(portals: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("portals-web")
    targets = []
    for key in PRODUCTS:
        targets.append(_target(f"{key}-ok", key, ADMIN))
        targets.append(_target(f"{key}-wrong", key, ADMIN, "env:WRONG_PW"))
    for key in MFA_PRODUCTS:
        targets.append(_target(f"{key}-totp", key, TOTP_USER, totp="env:PORTAL_TOTP"))
        targets.append(_target(f"{key}-no-seed", key, TOTP_USER))
    targets.append(_target("m365-push-unattended", "m365", PUSH_USER))
    for t in targets:
        t["url"] = t["url"].format(base=portals.base)
    env = {"PORTAL_PW": portals.password, "WRONG_PW": WRONG, "PORTAL_TOTP": portals.totp_seed}
    report = run_web(tmp, targets, env, RunOptions(concurrency=8))
    return {"report": report, "root": tmp / "case", "portals": portals}


def test_every_builtin_web_profile_has_a_fixture_portal() -> None:
    web = {p.profile.name for p in ProfileRegistry(use_env=False).all() if p.profile.kind == "web"}
    covered = {p.profile for p in PRODUCTS.values()} | {"cockpit_web", "demo_portal_web"}
    assert web <= covered, f"profiles without a fixture portal: {sorted(web - covered)}"


@pytest.mark.parametrize("key", list(PRODUCTS))
def test_good_password_logs_in(portal_run: dict[str, Any], key: str) -> None:
    r = result(portal_run["report"], f"{key}-ok")
    assert r.outcome is Outcome.LOGIN_OK, dump(portal_run["root"], f"{key}-ok")
    labels = [a["data"]["label"] for a in artifacts(portal_run["root"], f"{key}-ok", "screenshot")]
    assert labels[0] == "login-page" and labels[-1] == "success"


@pytest.mark.parametrize("key", list(PRODUCTS))
def test_wrong_password_is_auth_failed(portal_run: dict[str, Any], key: str) -> None:
    r = result(portal_run["report"], f"{key}-wrong")
    assert r.outcome is Outcome.AUTH_FAILED, dump(portal_run["root"], f"{key}-wrong")


@pytest.mark.parametrize("key", MFA_PRODUCTS)
def test_totp_code_from_seed_is_accepted(portal_run: dict[str, Any], key: str) -> None:
    root = portal_run["root"]
    r = result(portal_run["report"], f"{key}-totp")
    assert r.outcome is Outcome.LOGIN_OK, dump(root, f"{key}-totp")


@pytest.mark.parametrize("key", MFA_PAGE_PRODUCTS)
def test_mfa_page_without_seed_is_mfa_required(portal_run: dict[str, Any], key: str) -> None:
    r = result(portal_run["report"], f"{key}-no-seed")
    assert r.outcome is Outcome.MFA_REQUIRED, dump(portal_run["root"], f"{key}-no-seed")


def test_opnsense_inline_totp_without_seed_looks_like_a_wrong_password(portal_run: dict[str, Any]) -> None:
    # OPNsense takes code+password in one field: without the code the server just says "wrong".
    r = result(portal_run["report"], "opnsense-no-seed")
    assert r.outcome is Outcome.AUTH_FAILED


def test_push_mfa_unattended_is_mfa_required(portal_run: dict[str, Any]) -> None:
    r = result(portal_run["report"], "m365-push-unattended")
    assert r.outcome is Outcome.MFA_REQUIRED, dump(portal_run["root"], "m365-push-unattended")
    assert "--headed" in r.detail


def test_no_secret_and_no_code_anywhere(portal_run: dict[str, Any]) -> None:
    root, portals = portal_run["root"], portal_run["portals"]
    assert_no_secrets(root, [portals.password, WRONG, portals.totp_seed])
    # Codes are 6 digits: look for them where they would be typed/recorded as text
    # (journal, trace members), standing alone, not inside longer numbers.
    import zipfile

    import pyotp

    totp = pyotp.TOTP(portals.totp_seed)
    times = [e["time"] for e in entries(root, None, None)]
    from datetime import datetime

    stamps = {datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() for t in (times[0], times[-1])}
    codes = {totp.at(s + d) for s in stamps for d in range(-60, 61, 30)}
    pattern = re.compile(rb"(?<![0-9A-Za-z.])(" + b"|".join(c.encode() for c in codes) + rb")(?![0-9A-Za-z.])")
    assert not pattern.search((root / "journal.jsonl").read_bytes())
    for trace in root.rglob("trace*.zip"):
        with zipfile.ZipFile(trace) as zf:
            for name in zf.namelist():
                if name.endswith((".trace", ".network")):
                    assert not pattern.search(zf.read(name)), f"{trace}!{name}"


def test_totp_step_is_journaled_without_the_code(portal_run: dict[str, Any]) -> None:
    root = portal_run["root"]
    steps = [e["data"] for e in entries(root, "m365-totp", "step")]
    totp = next(s for s in steps if s["action"] == "totp")
    assert totp["result"] == "done" and totp["field"] == "totp"
    trace = artifacts(root, "m365-totp", "trace")
    assert trace and trace[0]["data"]["scrub"]["kept"]


def test_frames_sonicwall_error_text_read_inside_the_frame(portal_run: dict[str, Any]) -> None:
    r = result(portal_run["report"], "sonicwall-wrong")
    assert "Incorrect name/password" in r.detail or "SonicOS refused" in r.detail


def test_parallel_targets_share_one_browser(portal_run: dict[str, Any]) -> None:
    root = portal_run["root"]
    launches = {e["data"]["launch"] for e in entries(root, None, "browser")}
    assert launches == {1}
    # Targets really overlapped in time (8 worker threads, one browser).
    spans = []
    for r in portal_run["report"].results:
        spans.append((r.started, r.finished))
    overlap = max(sum(1 for s, f in spans if s <= start < f) for start, _ in spans)
    assert overlap >= 4


def test_assisted_mode_push_approved_by_the_technician(portals: Any, tmp_path: Any) -> None:
    asked: list[str] = []

    def pause(message: str) -> None:
        asked.append(message)
        assert portals.approve_pushes() >= 1  # the technician approves on the phone, then presses Enter

    targets = [_target("m365-push", "m365", PUSH_USER)]
    targets[0]["url"] = targets[0]["url"].format(base=portals.base)
    options = RunOptions(concurrency=1, pause=pause, assist_headless=True)
    report = run_web(tmp_path, targets, {"PORTAL_PW": portals.password}, options)
    root = tmp_path / "case"
    r = result(report, "m365-push")
    assert r.outcome is Outcome.LOGIN_OK, dump(root, "m365-push")
    assert len(asked) == 1 and "Authenticator" in asked[0]
    manual = [e["data"] for e in entries(root, "m365-push", "step") if e["data"].get("manual")]
    assert [m["action"] for m in manual] == ["manual"]
    finished = entries(root, "m365-push", "target_finished")[0]["data"]
    assert finished["manual_steps"] == [manual[0]["index"]]
    assert_no_secrets(root, [portals.password])


TIMEOUT_PROFILE = """name: wac_slow_web
kind: web
description: test profile - a step that never completes, a custom screenshot, a wait on the URL
steps:
  - {action: http_auth}
  - {action: goto, url: "{url}"}
  - {action: wait, url: "/wac/", load_state: load}
  - {action: screenshot, name: custom, full_page: true, mask: ["h1"]}
  - {action: wait, selector: "#never-there", timeout: 1}
  - {action: click, selector: "#never-there-either"}
success:
  - {selector: "sme-root", state: attached}
"""


def test_step_timeout_in_assisted_mode_pauses_then_checks_success(portals: Any, tmp_path: Any) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "wac_slow_web.yaml").write_text(TIMEOUT_PROFILE)
    asked: list[str] = []
    targets = [{"name": "slow", "profile": "wac_slow_web", "url": portals.url("wac"), "username": ADMIN,
                "password": "env:PW"},
               {"name": "slow-unattended", "profile": "wac_slow_web", "url": portals.url("wac"),
                "username": ADMIN, "password": "env:PW"}]
    options = RunOptions(concurrency=1, pause=asked.append, assist_headless=True)
    report = run_web(tmp_path, targets[:1], {"PW": portals.password}, options, profile_dirs=[profiles])
    root = tmp_path / "case"
    r = result(report, "slow")
    assert r.outcome is Outcome.LOGIN_OK, dump(root, "slow")
    assert len(asked) == 1 and "did not complete" in asked[0]
    steps = [e["data"] for e in entries(root, "slow", "step")]
    assert [s["result"] for s in steps] == ["configured", "done", "done", "done", "manual_after_timeout",
                                            "skipped_after_manual"]
    labels = [a["data"]["label"] for a in artifacts(root, "slow", "screenshot")]
    assert "custom" in labels and "before-manual" in labels
    # Unattended, the same step is a timeout with a failure screenshot.
    report2 = run_web(tmp_path, targets[1:], {"PW": portals.password}, RunOptions(concurrency=1),
                      profile_dirs=[profiles], case_name="case2")
    r2 = result(report2, "slow-unattended")
    assert r2.outcome is Outcome.TIMEOUT and "#never-there" in r2.detail
    assert_no_secrets(tmp_path, [portals.password])
