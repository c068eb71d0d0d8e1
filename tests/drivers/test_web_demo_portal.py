"""The demo's in-process web portal, captured with its bundled profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence_kit.case.outcome import Outcome
from evidence_kit.demo.web_portal import start_demo_portal
from tests.drivers.web_support import artifacts, dump, entries, result, run_web
from tests.helpers import assert_no_secrets

pytestmark = pytest.mark.slow


def test_demo_portal_login_totp_and_wrong_password(tmp_path: Path) -> None:
    with start_demo_portal() as portal:
        assert portal.url.startswith("http://127.0.0.1:")
        targets = [
            {"name": "demo-web", "profile": "demo_portal_web", "url": portal.url, "username": portal.username,
             "password": "env:PW", "totp": "env:SEED"},
            {"name": "demo-web-wrong", "profile": "demo_portal_web", "url": portal.url,
             "username": portal.username, "password": "env:BAD", "totp": "env:SEED"},
            {"name": "demo-web-no-seed", "profile": "demo_portal_web", "url": portal.url,
             "username": portal.username, "password": "env:PW"},
            {"name": "demo-web-uri", "profile": "demo_portal_web", "url": portal.url, "username": portal.username,
             "password": "env:PW", "totp": "env:SEED_URI"},
        ]
        uri = f"otpauth://totp/Demo%20Router:admin?secret={portal.totp_seed}&issuer=Demo%20Router"
        env = {"PW": portal.password, "BAD": portal.wrong_password, "SEED": portal.totp_seed, "SEED_URI": uri}
        report = run_web(tmp_path, targets, env)
    root = tmp_path / "case"
    assert result(report, "demo-web").outcome is Outcome.LOGIN_OK, dump(root, "demo-web")
    wrong = result(report, "demo-web-wrong")
    assert wrong.outcome is Outcome.AUTH_FAILED and "Wrong user name or password" in wrong.detail
    assert result(report, "demo-web-no-seed").outcome is Outcome.MFA_REQUIRED
    assert result(report, "demo-web-uri").outcome is Outcome.LOGIN_OK, dump(root, "demo-web-uri")  # otpauth://
    labels = [a["data"]["label"] for a in artifacts(root, "demo-web", "screenshot")]
    assert labels[0] == "login-page" and labels[-1] == "success"
    assert [e["data"]["result"] for e in entries(root, "demo-web", "step")] == ["done"] * 6
    assert_no_secrets(root, [portal.password, portal.wrong_password, portal.totp_seed, uri])


def test_totp_seed_forms() -> None:
    import pyotp

    from evidence_kit.drivers.web import totp_now

    seed = pyotp.random_base32()
    spaced = " ".join(seed[i:i + 4] for i in range(0, len(seed), 4)).lower()
    for value in (seed, spaced, f"otpauth://totp/X:y?secret={seed}&issuer=X"):
        code, bare, left = totp_now(value)
        assert bare == seed and 0 < left <= 30 and pyotp.TOTP(seed).verify(code, valid_window=1)
    with pytest.raises(ValueError):
        totp_now(f"otpauth://hotp/X:y?secret={seed}&counter=1")
