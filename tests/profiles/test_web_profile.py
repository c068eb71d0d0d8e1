"""The web profile model: validation with file/line/field errors, lint, schema, every built-in one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evidence_kit.errors import ProfileError
from evidence_kit.profiles import ProfileRegistry, json_schema, lint, parse_profile
from evidence_kit.profiles.web import WebProfile

GOOD = """name: my_portal_web
kind: web
steps:
  - {action: goto, url: "{url}"}
  - {action: fill, selector: "#u", field: username}
  - {action: fill, selector: "#p", field: password}
  - {action: click, selector: "#go"}
success:
  - {selector: "#dash"}
failure:
  - {selector: "#err", outcome: auth_failed}
"""

BUILTIN_WEB = [
    "cockpit_web", "pfsense_web", "opnsense_web", "fortigate_web", "sonicwall_web", "unifi_web",
    "synology_dsm_web", "mikrotik_webfig", "windows_admin_center_web", "microsoft_365_web", "cloudflare_web",
    "godaddy_web", "namecheap_web", "aws_console_web", "demo_portal_web",
]


def _write(tmp_path: Path, text: str, name: str = "my_portal_web") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def test_good_profile_lints(tmp_path: Path) -> None:
    [res] = lint([_write(tmp_path, GOOD)])
    assert res.ok and "web profile 'my_portal_web'" in res.message


@pytest.mark.parametrize("change, where", [
    (("action: click", "action: klick"), "steps"),
    (('{selector: "#dash"}', "{state: visible}"), "success"),
    (("outcome: auth_failed", "outcome: login_ok"), "failure"),
    (('{action: fill, selector: "#u", field: username}', '{action: fill, selector: "#u"}'), "steps"),
])
def test_bad_profiles_name_the_field(tmp_path: Path, change: tuple[str, str], where: str) -> None:
    path = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ProfileError) as err:
        parse_profile(path)
    line = err.value.one_line()
    assert str(path) in line and where in line and "line" in line


def test_first_page_step_must_be_goto(tmp_path: Path) -> None:
    text = GOOD.replace('  - {action: goto, url: "{url}"}\n', "")
    with pytest.raises(ProfileError, match="goto"):
        parse_profile(_write(tmp_path, text))


def test_bad_regex_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace('{selector: "#err", outcome: auth_failed}', '{text: "(unclosed", outcome: auth_failed}')
    with pytest.raises(ProfileError, match="regular expression"):
        parse_profile(_write(tmp_path, text))


def test_schema_covers_web_profiles() -> None:
    schema = json_schema()
    assert "WebProfile" in schema["$defs"]
    text = json.dumps(schema)
    for action in ("goto", "fill", "click", "press", "wait", "totp", "http_auth", "screenshot", "manual"):
        assert f'"{action}"' in text


@pytest.mark.parametrize("name", BUILTIN_WEB)
def test_builtin_web_profiles_load_and_document_themselves(name: str) -> None:
    loaded = ProfileRegistry(use_env=False).get(name)
    profile = loaded.profile
    assert isinstance(profile, WebProfile)
    assert profile.notes and profile.success and profile.failure
    assert "password" in profile.secret_fields()
    [res] = lint([Path(loaded.source)])
    assert res.ok, res.message
