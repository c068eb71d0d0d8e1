"""The report states each login's trusted time bracket from the capture's RFC 3161 checkpoints
(real sshd, real ``openssl ts`` TSA, the real seal and report code)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from evidence_kit.capture import capture
from evidence_kit.case.checkpoints import Checkpointer, CheckpointSettings
from evidence_kit.drivers.base import RunOptions
from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry
from evidence_kit.report.make import write_report
from evidence_kit.seal.keys import generate
from evidence_kit.seal.seal import SealOptions, seal
from evidence_kit.seal.timestamp import load_roots
from evidence_kit.secrets import SecretResolver
from tests.servers.sshd import InventoryTarget, SshdTargets, build_inventory
from tests.servers.tsa import TSA

FAST = {"timeouts": {"connect": 5, "banner": 5, "auth": 20, "command": 10}}


@pytest.mark.parametrize("checkpoints", [True, False])
def test_report_shows_the_trusted_bracket_of_each_login(sshd_targets: SshdTargets, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch, checkpoints: bool) -> None:
    tsa = TSA(tmp_path / "tsa").start()
    try:
        inv = tmp_path / "inventory.yaml"
        account = sshd_targets.account("linux")
        env = build_inventory(inv, [InventoryTarget("gw-1", account, sshd_targets.port, extra=FAST),
                                    InventoryTarget("gw-2", account, sshd_targets.port, extra=FAST)])
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        hooks = Checkpointer(CheckpointSettings([tsa.url], load_roots([tsa.root_pem]))) if checkpoints else None
        capture(load_inventory(inv, ProfileRegistry()), tmp_path / "case", SecretResolver(),
                RunOptions(concurrency=2), checkpoints=hooks)
        made = generate(tmp_path / "keys")
        archive = tmp_path / "case.age"
        seal(SealOptions(case_dir=tmp_path / "case", output=archive, sign_key=tmp_path / "keys" / "signing-key.pem",
                         recipients=[made.recipient], tsa_urls=[tsa.url]))
        out = tmp_path / "report.html"
        result = write_report(archive, out, [tmp_path / "keys" / "age-identity.txt"], tsa_cas=[tsa.root_pem])
        assert result.ok
    finally:
        tsa.stop()
    page = html.unescape(out.read_text())
    rows = re.findall(r"<th>Trusted time of the login</th><td>(.*?)</td>", page)
    assert len(rows) == 2
    if checkpoints:
        for row in rows:
            match = re.fullmatch(r"between (\S+Z) and (\S+Z) \(RFC 3161, TSA verified against the given roots\)", row)
            assert match and match.group(1) <= match.group(2), row
    else:
        assert all(row.startswith("none at capture (captured without checkpoints)") for row in rows)
