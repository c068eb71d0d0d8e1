"""A server that dies mid-session: a dedicated sshd (not the shared fixture), and every process of it
(the listener and the session's own sshd) killed with SIGKILL while the target's identity command
runs. The target ends ``error`` with the detail in words, the run goes on with the next target, the
case is usable (journal, artifacts, seal, verify) and the process exits 1 (a login failed).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.faults.faultkit import (
    assert_case_consistent,
    cli_env,
    journal_has,
    needs_root,
    start_cli,
    two_states,
    wait_for,
)
from tests.helpers import assert_no_secrets
from tests.seal.helpers import Keyset
from tests.servers.sshd import InventoryTarget, SshdServer, SshdTargets, build_inventory


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


@pytest.mark.slow
def test_sshd_killed_while_a_command_runs(tmp_path: Path, fault_sshd: SshdTargets, keyset: Keyset) -> None:
    needs_root()
    import yaml

    from evidence_kit.profiles.builtin import __file__ as builtin

    profiles = tmp_path / "profiles"
    profiles.mkdir()
    data = yaml.safe_load((Path(builtin).parent / "linux.yaml").read_text())
    data.update(name="linux_sleep", identity_commands=["id", "sleep 60"])
    (profiles / "linux_sleep.yaml").write_text(yaml.safe_dump(data, sort_keys=False))

    server = SshdServer(roles=("linux",))
    with server as dying_sshd:
        assert server._proc is not None
        inventory = tmp_path / "inventory.yaml"
        env = build_inventory(inventory, [
            InventoryTarget("dying", dying_sshd.account("linux"), dying_sshd.port, profile="linux_sleep",
                            extra={"timeouts": {"command": 120}}),
            InventoryTarget("next", fault_sshd.account("linux"), fault_sshd.port),
        ])
        case = tmp_path / "case"
        proc = start_cli(["capture", inventory, "--case", case, "--concurrency", "1", "--profiles", profiles,
                          "--json"], cli_env(**env))
        wait_for(journal_has(case, "prompt"), "the dying target's shell prompt", proc=proc)
        time.sleep(0.5)  # inside `sleep 60`
        victims = [server._proc.pid, *descendants(server._proc.pid)]
        assert len(victims) >= 2  # the listener and the session's sshd
        killed = time.monotonic()
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
        took = time.monotonic() - killed
    assert proc.returncode == 1, err  # the run worked and recorded a failed login
    entries = assert_case_consistent(case)
    finished = {e["target"]: e["data"] for e in entries if e["event"] == "target_finished"}
    assert finished["dying"]["outcome"] in ("error", "timeout"), finished["dying"]
    detail = finished["dying"]["detail"]
    assert detail.startswith("logged in (user) but") and "closed" in detail, detail
    assert finished["next"]["outcome"] == "login_ok"  # the run went on
    assert two_states(case, keyset, tmp_path / "checks").state == "usable"
    assert_no_secrets(case, list(env.values()))
    print(f"\nsshd killed: the target ended {took:.2f} s later: {detail}")
