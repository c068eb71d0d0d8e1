"""The web driver against the real Cockpit login page (plain HTTP and TLS)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.case.outcome import Outcome
from evidence_kit.drivers.base import RunOptions
from tests.drivers.web_support import artifacts, dump, entries, result, run_web
from tests.helpers import assert_no_secrets, random_password

pytestmark = pytest.mark.slow

WRONG = random_password("Wrong")


@pytest.fixture(scope="module")
def cockpit_run(cockpit: Any, cockpit_tls: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("cockpit-web")
    user = cockpit.user.name
    other_fp = "ab" * 32
    targets = [
        {"name": "ck-good", "profile": "cockpit_web", "url": cockpit.url, "username": user, "password": "env:CK_PW"},
        {"name": "ck-wrong", "profile": "cockpit_web", "url": cockpit.url, "username": user, "password": "env:CK_BAD"},
        {"name": "ck-tls-pinned", "profile": "cockpit_web", "url": cockpit_tls.url, "username": user,
         "password": "env:CK_PW", "certificate": cockpit_tls.cert_sha256},
        {"name": "ck-tls-wrong-pin", "profile": "cockpit_web", "url": cockpit_tls.url, "username": user,
         "password": "env:CK_PW", "certificate": other_fp},
        {"name": "ck-tls-untrusted", "profile": "cockpit_web", "url": cockpit_tls.url, "username": user,
         "password": "env:CK_PW"},
        {"name": "ck-tls-allowed", "profile": "cockpit_web", "url": cockpit_tls.url, "username": user,
         "password": "env:CK_PW", "allow_self_signed": True, "expected": "limited user"},
    ]
    env = {"CK_PW": cockpit.user.password, "CK_BAD": WRONG}
    report = run_web(tmp, targets, env, RunOptions(concurrency=6))
    return {"report": report, "root": tmp / "case", "cockpit": cockpit, "tls": cockpit_tls}


def test_no_secret_anywhere_in_the_case(cockpit_run: dict[str, Any]) -> None:
    assert_no_secrets(cockpit_run["root"], [cockpit_run["cockpit"].user.password, WRONG])


def test_good_password_is_login_limited_for_a_non_admin_user(cockpit_run: dict[str, Any]) -> None:
    root, report = cockpit_run["root"], cockpit_run["report"]
    r = result(report, "ck-good")
    assert r.outcome is Outcome.LOGIN_LIMITED, dump(root, "ck-good")
    assert "Limited access" in r.detail
    nav = entries(root, "ck-good", "navigation")[-1]["data"]
    assert nav["final_url"].endswith("/system")
    assert nav["status"] == 200
    assert nav["server"] == {"ipAddress": "127.0.0.1", "port": cockpit_run["cockpit"].port}
    assert r.identity["server_ip"] == "127.0.0.1"
    steps = entries(root, "ck-good", "step")
    fills = [s["data"] for s in steps if s["data"]["action"] == "fill"]
    assert [f["field"] for f in fills] == ["username", "password"]


def test_screenshots_original_and_stamped_copy(cockpit_run: dict[str, Any]) -> None:
    root = cockpit_run["root"]
    shots = artifacts(root, "ck-good", "screenshot")
    labels = [s["data"]["label"] for s in shots]
    assert labels[0] == "login-page" and "after-submit" in labels and labels[-1] == "success"
    stamped = artifacts(root, "ck-good", "screenshot_stamped")
    assert len(stamped) == len(shots)
    from PIL import Image

    for orig, copy in zip(shots, stamped, strict=True):
        data = (root / orig["artifact"]["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == orig["artifact"]["sha256"] == copy["data"]["original_sha256"]
        with Image.open(root / orig["artifact"]["path"]) as a, Image.open(root / copy["artifact"]["path"]) as b:
            assert a.width == b.width and b.height > a.height  # band added below, original untouched


def test_wrong_password_is_auth_failed_with_cockpits_text(cockpit_run: dict[str, Any]) -> None:
    root, report = cockpit_run["root"], cockpit_run["report"]
    r = result(report, "ck-wrong")
    assert r.outcome is Outcome.AUTH_FAILED, dump(root, "ck-wrong")
    assert "Wrong user name or password" in r.detail
    labels = [s["data"]["label"] for s in artifacts(root, "ck-wrong", "screenshot")]
    assert labels[-1] == "failure"


def test_trace_is_kept_scrubbed_and_complete(cockpit_run: dict[str, Any]) -> None:
    root = cockpit_run["root"]
    traces = artifacts(root, "ck-good", "trace")
    assert len(traces) == 1, dump(root, "ck-good")
    scrub = traces[0]["data"]["scrub"]
    assert scrub["kept"] and scrub["replacements"] > 0  # the password was in it, and is not any more
    with zipfile.ZipFile(root / traces[0]["artifact"]["path"]) as zf:
        names = zf.namelist()
        assert "trace.trace" in names and "trace.network" in names
        assert b'"fill"' in zf.read("trace.trace") or b"fill" in zf.read("trace.trace")
        assert b"[REDACTED]" in zf.read("trace.trace")


def test_video_recorded(cockpit_run: dict[str, Any]) -> None:
    root = cockpit_run["root"]
    videos = artifacts(root, "ck-good", "video")
    assert len(videos) == 1, dump(root, "ck-good")
    assert (root / videos[0]["artifact"]["path"]).read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # WebM/EBML


def test_tls_chain_captured_and_pin_accepted(cockpit_run: dict[str, Any]) -> None:
    root, report, tls = cockpit_run["root"], cockpit_run["report"], cockpit_run["tls"]
    r = result(report, "ck-tls-pinned")
    assert r.outcome is Outcome.LOGIN_LIMITED, dump(root, "ck-tls-pinned")
    ev = entries(root, "ck-tls-pinned", "tls")[0]["data"]
    assert ev["leaf_sha256"] == tls.cert_sha256 and ev["pin_ok"] is True and ev["self_signed"] is True
    assert ev["protocol"].startswith("TLS")
    chain = artifacts(root, "ck-tls-pinned", "certificate_chain")[0]
    assert (root / chain["artifact"]["path"]).read_bytes() == tls.cert_pem
    browser = entries(root, "ck-tls-pinned", "tls_browser")[0]["data"]
    assert browser["available"] and browser["same_as_handshake"]
    assert r.identity["tls_leaf_sha256"] == tls.cert_sha256


def test_pin_mismatch_types_nothing(cockpit_run: dict[str, Any]) -> None:
    root, report = cockpit_run["root"], cockpit_run["report"]
    r = result(report, "ck-tls-wrong-pin")
    assert r.outcome is Outcome.CERTIFICATE_MISMATCH, dump(root, "ck-tls-wrong-pin")
    assert "does not match" in r.detail and "nothing was typed" in r.detail
    assert not entries(root, "ck-tls-wrong-pin", "step")  # not one step ran
    assert artifacts(root, "ck-tls-wrong-pin", "certificate_chain")  # the chain is evidence all the same


def test_untrusted_certificate_needs_pin_or_explicit_allowance(cockpit_run: dict[str, Any]) -> None:
    root, report, tls = cockpit_run["root"], cockpit_run["report"], cockpit_run["tls"]
    r = result(report, "ck-tls-untrusted")
    assert r.outcome is Outcome.CERTIFICATE_MISMATCH
    assert "allow_self_signed" in r.detail and tls.cert_sha256[:2].upper() in r.detail
    allowed = result(report, "ck-tls-allowed")
    # expected: "limited user" -> limited access is what this credential should have
    assert allowed.outcome is Outcome.LOGIN_OK, dump(root, "ck-tls-allowed")
    assert "as the target expects" in allowed.detail
    assert entries(root, "ck-tls-allowed", "tls")[0]["data"]["verified"] is False


def test_journal_files_all_hashed(cockpit_run: dict[str, Any]) -> None:
    root = cockpit_run["root"]
    for e in entries(root, None, "artifact_added"):
        path = Path(root) / e["artifact"]["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == e["artifact"]["sha256"]
