"""Shipped profiles against an independent device simulator: the fake-switches package.

Its Cisco and Arista cores are someone else's reading of those CLIs (prompts, ``enable`` with
a password question, errors for what they do not implement), so they check our profiles and
driver against more than our own simulator.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from evidence_kit.capture import capture
from evidence_kit.drivers.base import RunOptions
from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry, builtin_dir
from evidence_kit.secrets import SecretResolver
from tests.helpers import assert_no_secrets, random_password
from tests.servers.fake_switches import FakeSwitches

SHORT = {"connect": 5, "banner": 5, "auth": 10, "command": 10}


def _arista_variant(folder: Path) -> None:
    """arista_eos with `show vlan` as identity: fake-switches' Arista core has no `show version`
    (it raises NotImplementedError and drops the session), everything else is the shipped profile."""
    data = yaml.safe_load((builtin_dir() / "arista_eos.yaml").read_text())
    data.update(name="arista_eos_fakeswitches", identity_commands=["show vlan"])
    (folder / "arista_eos_fakeswitches.yaml").write_text(yaml.safe_dump(data))


@pytest.mark.slow
def test_fake_switches_cisco_and_arista(
    fake_switches: FakeSwitches, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cisco = fake_switches.switches["cisco_generic"]
    arista = fake_switches.switches["arista_generic"]
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    _arista_variant(profiles)
    wrong = random_password("Wrong")
    env = {"FS_CISCO_PW": cisco.password, "FS_CISCO_EN": cisco.enable_secret or "",
           "FS_ARISTA_PW": arista.password, "FS_WRONG": wrong, "FS_EMPTY": ""}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    targets = [
        {"name": "fs-cisco", "profile": "cisco_ios", "host": cisco.host, "port": cisco.port,
         "username": cisco.username, "password": "env:FS_CISCO_PW", "enable_secret": "env:FS_CISCO_EN",
         "timeouts": SHORT},
        {"name": "fs-cisco-no-enable", "profile": "cisco_ios", "host": cisco.host, "port": cisco.port,
         "username": cisco.username, "password": "env:FS_CISCO_PW", "timeouts": SHORT},
        {"name": "fs-arista", "profile": "arista_eos_fakeswitches", "host": arista.host, "port": arista.port,
         "username": arista.username, "password": "env:FS_ARISTA_PW", "timeouts": SHORT,
         # No enable secret set on the switch: an empty one tells the driver to try `enable`.
         "enable_secret": "env:FS_EMPTY"},
        {"name": "fs-cisco-wrong", "profile": "cisco_ios", "host": cisco.host, "port": cisco.port,
         "username": cisco.username, "password": "env:FS_WRONG", "timeouts": SHORT},
    ]
    inv = tmp_path / "inventory.yaml"
    inv.write_text(yaml.safe_dump({"case": {"client": "Contoso", "provider": "MSP", "technician": "T"},
                                   "targets": targets}))
    inventory = load_inventory(inv, ProfileRegistry(extra_dirs=[profiles]))
    report = capture(inventory, tmp_path / "case", SecretResolver(), RunOptions(concurrency=4))
    got = {r.name: r for r in report.results}
    assert {n: r.outcome.value for n, r in got.items()} == {
        "fs-cisco": "login_ok", "fs-cisco-no-enable": "login_limited",
        "fs-arista": "login_ok", "fs-cisco-wrong": "auth_failed",
    }, {n: r.detail for n, r in got.items()}

    def transcript(name: str) -> str:
        [txt] = [a for a in got[name].artifacts if a.endswith("session.txt")]
        return (tmp_path / "case" / txt).read_text()

    assert "fs-cisco#" in transcript("fs-cisco")
    assert "Cisco IOS Software, C3750 Software" in transcript("fs-cisco")
    assert "fs-arista#" in transcript("fs-arista") and "default" in transcript("fs-arista")
    journal = [json.loads(line) for line in (tmp_path / "case" / "journal.jsonl").read_text().splitlines()]
    elevations = [e["data"] for e in journal if e["event"] == "elevation" and e["target"] == "fs-cisco"]
    assert elevations and elevations[0]["result"] == "ok"
    assert_no_secrets(tmp_path / "case", [*fake_switches.secrets(), wrong])
