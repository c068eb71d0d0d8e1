"""The inventory's case.sources block: each source named once, under the scheme it serves."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence_kit.errors import InventoryError
from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry

TARGET = ("targets:\n  - {name: r1, profile: cisco_ios, host: 10.0.0.1, username: admin,\n"
          "     password: 'bitwarden:5b1e7c0a/password'}\n")


def inventory(tmp_path: Path, sources: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text("case:\n  client: C\n  provider: P\n  technician: T\n  sources:\n" + sources + TARGET)
    return path


def test_sources_load(tmp_path: Path) -> None:
    inv = load_inventory(inventory(tmp_path, "    bitwarden: {format: bitwarden_json, file: bw.json.age, "
                                             "identity: keys/id.txt}\n"
                                             "    kdbx: {format: keepass_kdbx, file: v.kdbx, password: env:KP}\n"),
                         ProfileRegistry())
    assert inv.case.sources["bitwarden"].identity == Path("keys/id.txt")
    assert inv.case.sources["kdbx"].password is not None and inv.case.sources["kdbx"].password.text == "env:KP"
    assert str(inv.targets[0].password) == "bitwarden:5b1e7c0a/password"


@pytest.mark.parametrize(("sources", "words"), [
    ("    bw: {format: bitwarden_json, file: x.json}\n", ["name it 'bitwarden'"]),
    ("    bitwarden: {format: lastpass_csv, file: x.csv}\n", ["unknown source format 'lastpass_csv'"]),
    ("    bitwarden: {format: bitwarden_json}\n", ["file", "is required"]),
    ("    kdbx: {format: keepass_kdbx, file: v.kdbx, password: hunter2}\n", ["looks like a literal secret"]),
    ("    bitwarden: {format: bitwarden_json, file: x.json, colour: red}\n", ["colour", "not a known field"]),
])
def test_bad_sources(tmp_path: Path, sources: str, words: list[str]) -> None:
    with pytest.raises(InventoryError) as info:
        load_inventory(inventory(tmp_path, sources), ProfileRegistry())
    line = info.value.one_line()
    assert "case.sources" in line and "hunter2" not in line, line
    for word in words:
        assert word in line, line
