"""Trusted time at capture: RFC 3161 checkpoints of the journal head, against a real sshd and real
``openssl ts`` TSAs; each token checked by ``openssl ts -verify`` against the TSA's root."""

from __future__ import annotations

import base64
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.capture import Progress, capture
from evidence_kit.case.checkpoints import Checkpointer, CheckpointSettings
from evidence_kit.case.journal import check_journal, read_entries
from evidence_kit.drivers.base import RunOptions
from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry
from evidence_kit.seal.checkpoints import add_checks, analyse
from evidence_kit.seal.model import Status, Verification
from evidence_kit.seal.timestamp import load_roots
from evidence_kit.secrets import SecretResolver
from tests.helpers import assert_no_secrets
from tests.servers.sshd import InventoryTarget, SshdTargets, build_inventory
from tests.servers.tsa import TSA

FAST = {"timeouts": {"connect": 5, "banner": 5, "auth": 20, "command": 10}}


@pytest.fixture
def two_tsas(tmp_path: Path) -> Iterator[tuple[TSA, TSA]]:
    first, second = TSA(tmp_path / "tsa-a").start(), TSA(tmp_path / "tsa-b", certs_chain=True).start()
    yield first, second
    first.stop()
    second.stop()


def _inventory(tmp_path: Path, sshd: SshdTargets, count: int, monkeypatch: pytest.MonkeyPatch) -> Path:
    account = sshd.account("linux")
    inv = tmp_path / "inventory.yaml"
    targets = [InventoryTarget(f"host-{i}", account, sshd.port, extra=FAST) for i in range(count)]
    for key, value in build_inventory(inv, targets).items():
        monkeypatch.setenv(key, value)
    return inv


def _entries(case: Path, event: str) -> list[dict[str, Any]]:
    return [e for e in read_entries(case / "journal.jsonl") if e["event"] == event]


def _openssl_verify(token_b64: str, head: str, root: Path, work: Path) -> subprocess.CompletedProcess[str]:
    tsr = work / f"{head[:12]}.tsr"
    tsr.write_bytes(base64.b64decode(token_b64))
    return subprocess.run(["openssl", "ts", "-verify", "-digest", head, "-in", str(tsr), "-CAfile", str(root)],
                          capture_output=True, text=True, timeout=30)


def test_each_target_is_covered_by_every_tsa_and_openssl_verifies_each_token(
        sshd_targets: SshdTargets, two_tsas: tuple[TSA, TSA], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = two_tsas
    inv = _inventory(tmp_path, sshd_targets, 4, monkeypatch)
    roots = load_roots([first.root_pem, second.root_pem])
    settings = CheckpointSettings([first.url, second.url], roots)
    case = tmp_path / "case"
    result = capture(load_inventory(inv, ProfileRegistry()), case, SecretResolver(), RunOptions(concurrency=2),
                     checkpoints=Checkpointer(settings))
    assert result.counts() == {"login_ok": 4}
    assert check_journal(case / "journal.jsonl").ok

    tokens = _entries(case, "checkpoint")
    assert not _entries(case, "checkpoint_failed")
    assert {t["data"]["tsa"] for t in tokens} == {first.url, second.url}
    # One checkpoint per TSA before any target started: every login has a trusted lower bound.
    first_target = min(e["seq"] for e in _entries(case, "target_started"))
    assert {t["data"]["tsa"] for t in tokens if t["seq"] < first_target} == {first.url, second.url}
    for token in tokens:
        root = first.root_pem if token["data"]["tsa"] == first.url else second.root_pem
        proc = _openssl_verify(token["data"]["token"], token["data"]["head"], root, tmp_path)
        assert proc.returncode == 0 and "Verification: OK" in proc.stdout, proc.stdout + proc.stderr
        assert token["data"]["trusted"] is True

    analysis = analyse(case / "journal.jsonl", roots)
    assert all(t.valid and t.trusted for t in analysis.tokens)
    assert len(analysis.targets) == 4
    for login in analysis.targets:
        assert set(login.covered_by) == {first.url, second.url} and not login.missing
        assert login.not_before is not None and login.not_after is not None
        # The bracket holds the capture host's own times for the login (TSA times are to the second).
        assert login.not_before[:19] <= login.started[:19] and login.finished[:19] <= login.not_after[:19]
    report = Verification("case")
    add_checks(report, analysis)
    assert [(c.name, c.status) for c in report.checks] == [
        ("checkpoints", Status.PASSED), ("checkpoints trust", Status.PASSED), ("checkpoint coverage", Status.PASSED)]
    assert_no_secrets(case, [sshd_targets.account("linux").password])


def test_a_tsa_stopped_mid_capture_is_journaled_and_capture_goes_on(
        sshd_targets: SshdTargets, two_tsas: tuple[TSA, TSA], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    steady, failing = two_tsas
    inv = _inventory(tmp_path, sshd_targets, 4, monkeypatch)
    case = tmp_path / "case"
    roots = load_roots([steady.root_pem, failing.root_pem])
    done: list[str] = []

    def finished(result: Any) -> None:
        done.append(result.name)
        if len(done) == 1:
            # Wait until the failing TSA has covered this first target, then stop it for good.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any(
                    result.name in e["data"]["covers"] and e["data"]["tsa"] == failing.url
                    for e in _entries(case, "checkpoint")):
                time.sleep(0.05)
            failing.stop()

    settings = CheckpointSettings([steady.url, failing.url], roots, timeout=5)
    result = capture(load_inventory(inv, ProfileRegistry()), case, SecretResolver(), RunOptions(concurrency=1),
                     progress=Progress(finished=finished), checkpoints=Checkpointer(settings))
    assert result.counts() == {"login_ok": 4}  # capture went on
    failures = _entries(case, "checkpoint_failed")
    assert failures and all(f["data"]["tsa"] == failing.url for f in failures)
    assert "unreachable" in failures[-1]["data"]["problem"]

    analysis = analyse(case / "journal.jsonl", roots)
    by_name = {t.target: t for t in analysis.targets}
    assert set(by_name[done[0]].covered_by) == {steady.url, failing.url}  # its checkpoint intact
    for name in done[1:]:
        assert set(by_name[name].covered_by) == {steady.url}
        assert "the TSA failed during capture" in by_name[name].missing[failing.url]
    report = Verification("case")
    add_checks(report, analysis)
    checks = {c.name: c for c in report.checks}
    assert checks["checkpoints"].status is Status.PASSED  # the tokens that exist all verify
    coverage = checks["checkpoint coverage"]
    assert coverage.status is Status.NOT_CHECKED
    assert "3 of 4 target login(s) lack a checkpoint" in coverage.detail and failing.url in coverage.detail
    assert all(name in coverage.detail for name in done[1:]) and done[0] not in coverage.detail


@pytest.mark.timeout(120)  # a hang guard, not a speed claim
def test_a_dead_tsa_costs_no_target_time(sshd_targets: SshdTargets, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A TSA that accepts and never answers: targets do not wait for it, the run ends (each request
    is cut at the checkpoint timeout), and every target is named as lacking its checkpoint."""
    from tests.servers.sshd import SilentServer

    silent = SilentServer()
    try:
        inv = _inventory(tmp_path, sshd_targets, 3, monkeypatch)
        settings = CheckpointSettings([f"http://127.0.0.1:{silent.port}/tsa"], timeout=2)
        result = capture(load_inventory(inv, ProfileRegistry()), tmp_path / "case", SecretResolver(),
                         RunOptions(concurrency=3), checkpoints=Checkpointer(settings))
    finally:
        silent.close()
    assert result.counts() == {"login_ok": 3}
    analysis = analyse(tmp_path / "case" / "journal.jsonl")
    assert len(analysis.targets) == 3 and all(t.missing and not t.covered_by for t in analysis.targets)
