"""Inventory validation: every bad input is one line naming file, target and field; exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evidence_kit.errors import InventoryError
from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry
from evidence_kit.secrets import SecretRef

CASE = "case: {client: Contoso, provider: MSP, technician: J. Doe}\n"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(body)
    return path


GOOD_TARGET = "  - {name: r1, profile: cisco_ios, host: 10.0.0.1, username: admin, password: env:PW}\n"

BAD = {
    "yaml-syntax": (CASE + "targets:\n  - {name: r1, profile: cisco_ios\n", ["YAML syntax error", "line"]),
    "unknown-profile": (CASE + "targets:\n  - {name: r1, profile: cisco_iosx, host: h, username: u, password: env:P}\n",
                        ["target 'r1'", "field 'profile'", "unknown profile 'cisco_iosx'", "line 3"]),
    "missing-host": (CASE + "targets:\n  - {name: r1, profile: cisco_ios, username: u, password: env:P}\n",
                     ["target 'r1'", "field 'host'", "required"]),
    "bad-port": (CASE + "targets:\n  - {name: r1, profile: cisco_ios, host: h, port: 70000, username: u,"
                 " password: env:P}\n", ["target 'r1'", "field 'port'", "65535", "line 3"]),
    "duplicate-name": (CASE + "targets:\n" + GOOD_TARGET + GOOD_TARGET, ["duplicate target name 'r1'"]),
    "unknown-scheme": (CASE + "targets:\n  - {name: r1, profile: cisco_ios, host: h, username: u,"
                       " password: 'vault:secret/router'}\n",
                       ["target 'r1'", "field 'password'", "unknown secret scheme 'vault:'"]),
    "literal-password": (CASE + "targets:\n  - {name: r1, profile: cisco_ios, host: h, username: u,"
                         " password: 'Hunter2-literal!'}\n",
                         ["target 'r1'", "field 'password'", "literal secret"]),
    "unknown-field": (CASE + "targets:\n  - {name: r1, profile: cisco_ios, host: h, username: u,"
                      " password: env:P, pasword: env:P}\n", ["target 'r1'", "field 'pasword'", "not a known field"]),
    "no-targets": (CASE + "targets: []\n", ["targets"]),
    "missing-case-field": ("case: {client: C, provider: P}\ntargets:\n" + GOOD_TARGET,
                           ["field 'case.technician'", "required"]),
    "bad-host-key": (CASE + "targets:\n  - {name: r1, profile: cisco_ios, host: h, username: u,"
                     " password: env:P, host_key: 'MD5:aa:bb'}\n", ["target 'r1'", "field 'host_key'", "SHA256"]),
    "duplicate-key": (CASE + "targets:\n  - name: r1\n    name: r2\n", ["duplicate key 'name'", "line 4"]),
    "not-a-mapping": ("- just\n- a list\n", ["mapping"]),
}


@pytest.mark.parametrize("case_name", sorted(BAD))
def test_bad_inventory_one_line_exit_2(tmp_path: Path, case_name: str) -> None:
    body, expected = BAD[case_name]
    path = write(tmp_path, body)
    proc = subprocess.run(
        [sys.executable, "-m", "evidence_kit", "capture", str(path), "--case", str(tmp_path / "case")],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith(f"error: {path}"), lines[0]
    for fragment in expected:
        assert fragment in lines[0], (fragment, lines[0])
    # nothing was captured: no case folder appeared
    assert not (tmp_path / "case").exists()


def test_literal_password_is_never_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, CASE + "targets:\n  - {name: r1, profile: cisco_ios, host: h, username: u,"
                 " password: 'Hunter2-literal!'}\n")
    with pytest.raises(InventoryError) as info:
        load_inventory(path, ProfileRegistry())
    assert "Hunter2" not in info.value.one_line()


def test_good_inventory_parses_references(tmp_path: Path) -> None:
    path = write(tmp_path, CASE + "targets:\n"
                 "  - {name: r1, profile: cisco_ios, host: 10.0.0.1, username: admin, password: env:PW,"
                 " enable_secret: prompt, host_key: 'SHA256:" + "A" * 43 + "'}\n"
                 "  - {name: fw, profile: linux, host: fw.example, username: root, password: 'file:pw.txt',"
                 " timeouts: {connect: 3}}\n"
                 "  - {name: r3, profile: cisco_ios, host: h, username: u, password: 'keepass:Network/Core Router'}\n")
    inv = load_inventory(path, ProfileRegistry())
    r1, fw, r3 = inv.targets
    assert r1.password == SecretRef("env", "PW") and r1.enable_secret == SecretRef("prompt")
    assert fw.password == SecretRef("file", "pw.txt") and fw.timeouts.connect == 3
    assert r3.password == SecretRef("keepass", "Network/Core Router")
    assert inv.profile_of(r1).name == "cisco_ios"
    assert [t.name for t in inv.select(["fw"])] == ["fw"]
    with pytest.raises(InventoryError, match="unknown target 'nope'"):
        inv.select(["nope"])
