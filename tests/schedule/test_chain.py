"""The chained history: four scheduled runs against a real sshd and a real TSA, then the folder is
tampered with in every way an insider could (delete, swap, replace, insert) and each is named."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from evidence_kit.errors import ArchiveError
from evidence_kit.schedule.chain_verify import verify_chain
from evidence_kit.seal.model import Status, Verification
from tests.helpers import assert_no_secrets, random_password
from tests.schedule.conftest import Keys, cli, set_password
from tests.servers.sshd import InventoryTarget, SshdTargets, build_inventory
from tests.servers.tsa import TSA

FAST = {"timeouts": {"connect": 5, "banner": 5, "auth": 20, "command": 10}}


@dataclass(frozen=True)
class Built:
    folder: Path
    case: Path
    archives: Path
    inventory: Path
    env: dict[str, str]
    tsa: TSA
    names: list[str]  # archive names, run 1..4


@pytest.fixture(scope="module")
def history(own_sshd: SshdTargets, run_keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    folder = tmp_path_factory.mktemp("history")
    tsa = TSA(folder / "tsa").start()
    inv = folder / "inventory.yaml"
    env = build_inventory(inv, [InventoryTarget("web-gw", own_sshd.account("linux"), own_sshd.port, extra=FAST),
                                InventoryTarget("core-sw", own_sshd.account("cisco_ios"), own_sshd.port, extra=FAST)])
    doc = yaml.safe_load(inv.read_text())
    doc["case"]["recipients"] = [run_keys.recipient]
    inv.write_text(yaml.safe_dump(doc, sort_keys=False))
    env = {**os.environ, **env}
    account = own_sshd.account("linux")
    try:
        for number in range(1, 5):
            if number == 3:
                set_password(account.system_user, random_password("Rotated"))  # run 3: web-gw fails
            proc = cli(["run", str(inv), "--case", str(folder / "case"), "--sign-key", str(run_keys.sign_key),
                        "--archive-dir", str(folder / "archives"), "--tsa", tsa.url, "--tsa-ca", str(tsa.root_pem),
                        "--json"], env)
            assert proc.returncode in (0, 1), proc.stderr
            if number == 3:
                set_password(account.system_user, account.password)
        names = sorted(p.name for p in (folder / "archives").glob("*.age"))
        assert len(names) == 4
        yield Built(folder, folder / "case", folder / "archives", inv, env, tsa, names)
    finally:
        set_password(account.system_user, account.password)
        tsa.stop()


@pytest.fixture
def copy(history: Built, tmp_path: Path) -> Path:
    dest = tmp_path / "archives"
    shutil.copytree(history.archives, dest)
    return dest


def failures(report: Verification) -> list[tuple[str, str]]:
    return [(c.name, c.detail) for c in report.checks if c.status is Status.FAILED]


def test_an_intact_history_verifies(history: Built, run_keys: Keys) -> None:
    from evidence_kit.seal.keys import load_public_key

    report = verify_chain(history.archives, load_public_key(run_keys.sign_pub), case_root=history.case)
    assert report.ok, failures(report)
    runs = [c for c in report.checks if c.name.startswith("run ")]
    assert [c.name for c in runs] == ["run 1", "run 2", "run 3", "run 4"]
    assert [c.facts["archive"] for c in runs] == history.names
    assert "first of the history" in runs[0].detail and "follows run 3" in runs[3].detail
    # Each receipt names the one before by the SHA-256 of its bytes.
    import hashlib

    bodies = [json.loads((history.archives / f"{n}.receipt.json").read_bytes())["receipt"] for n in history.names]
    assert bodies[0]["chain"]["previous"] is None
    for before, after, name in zip(bodies, bodies[1:], history.names, strict=False):
        digest = hashlib.sha256((history.archives / f"{name}.receipt.json").read_bytes()).hexdigest()
        assert after["chain"]["previous"]["receipt_sha256"] == digest
        assert after["chain"]["position"] == before["chain"]["position"] + 1


def test_cli_verify_chain_with_identity_verifies_every_archive(history: Built, run_keys: Keys) -> None:
    proc = cli(["verify", "--chain", str(history.archives), "--case", str(history.case), "--identity",
                str(run_keys.identity), "--trust-key", str(run_keys.sign_pub), "--tsa-ca", str(history.tsa.root_pem),
                "--json"], history.env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checks = {c["check"]: c for c in json.loads(proc.stdout)["checks"]}
    assert all(checks[f"run {n} contents"]["status"] == "passed" for n in range(1, 5))


def test_a_deleted_run_is_found_and_named(history: Built, copy: Path) -> None:
    second = history.names[1]
    (copy / second).unlink()
    (copy / f"{second}.receipt.json").unlink()
    found = failures(verify_chain(copy))
    assert found == [("run 2", found[0][1])] and found[0][1].startswith("deleted: ") and second in found[0][1]


def test_a_deleted_newest_run_is_found_against_the_case_journal(history: Built, copy: Path) -> None:
    newest = history.names[3]
    (copy / newest).unlink()
    (copy / f"{newest}.receipt.json").unlink()
    assert verify_chain(copy).ok  # nothing after it names it...
    found = failures(verify_chain(copy, case_root=history.case))  # ...but the case journal recorded its seal
    assert len(found) == 1 and found[0][0] == "run 4" and "deleted" in found[0][1] and newest in found[0][1]


def test_a_deleted_archive_with_its_receipt_left_is_named(history: Built, copy: Path) -> None:
    (copy / history.names[2]).unlink()
    found = failures(verify_chain(copy))
    assert ("run 3", f"deleted: {history.names[2]} is gone (its receipt {history.names[2]}.receipt.json remains)") \
        in found


def test_swapped_archives_are_found_and_named(history: Built, copy: Path) -> None:
    two, three = copy / history.names[1], copy / history.names[2]
    data = two.read_bytes()
    two.write_bytes(three.read_bytes())
    three.write_bytes(data)
    found = dict(failures(verify_chain(copy)))
    assert found["run 2"].startswith("reordered: ") and "holds the archive of run 3" in found["run 2"]
    assert found["run 3"].startswith("reordered: ") and "holds the archive of run 2" in found["run 3"]


def test_runs_renamed_into_each_others_places_are_found(history: Built, copy: Path) -> None:
    two, three = history.names[1], history.names[2]
    for suffix in ("", ".receipt.json"):
        (copy / f"{two}{suffix}").rename(copy / f"tmp{suffix}")
        (copy / f"{three}{suffix}").rename(copy / f"{two}{suffix}")
        (copy / f"tmp{suffix}").rename(copy / f"{three}{suffix}")
    found = failures(verify_chain(copy))
    assert any(label == "run 2" and "reordered" in detail and "renamed" in detail for label, detail in found)
    assert any(label == "run 3" and "reordered" in detail for label, detail in found)


def test_a_replaced_archive_is_found_and_named(history: Built, copy: Path) -> None:
    (copy / history.names[2]).write_bytes(b"age-encryption.org/v1\n-> X25519 not the sealed archive\n")
    found = failures(verify_chain(copy))
    assert [label for label, _ in found] == ["run 3"]
    assert found[0][1].startswith("replaced: ") and history.names[2] in found[0][1]


def _forge(history: Built, run_keys: Keys, out: Path, chain: dict[str, Any] | None) -> Path:
    """A validly signed archive + receipt of the same case, sealed by someone holding the key."""
    from evidence_kit.seal.seal import SealOptions, seal

    case = out.parent / "forged-case"
    if not case.exists():
        shutil.copytree(history.case, case)
    seal(SealOptions(case_dir=case, output=out, sign_key=run_keys.sign_key, recipients=[run_keys.recipient],
                     chain=chain))
    return out


def test_a_run_replaced_by_a_validly_signed_one_is_found(history: Built, run_keys: Keys, copy: Path) -> None:
    third = history.names[2]
    receipt = json.loads((copy / f"{third}.receipt.json").read_bytes())["receipt"]
    (copy / third).unlink()
    (copy / f"{third}.receipt.json").unlink()
    _forge(history, run_keys, copy / third, receipt["chain"])  # same name, same link back, other content
    found = failures(verify_chain(copy))
    assert any(label == "run 3" and detail.startswith("replaced: ") and "run 4's receipt names" in detail
               for label, detail in found), found


def test_an_inserted_run_is_found_and_named(history: Built, run_keys: Keys, copy: Path, tmp_path: Path) -> None:
    receipt = json.loads((copy / f"{history.names[2]}.receipt.json").read_bytes())["receipt"]
    forged = _forge(history, run_keys, copy / "contoso-run002b.age", receipt["chain"])  # claims position 3
    found = failures(verify_chain(copy))
    assert any(label == "run 3" and detail.startswith("inserted: ") and forged.name in detail
               for label, detail in found), found


def test_an_archive_sealed_outside_the_history_and_a_copy_are_inserted(history: Built, run_keys: Keys,
                                                                       copy: Path) -> None:
    outside = _forge(history, run_keys, copy / "one-off.age", None)  # `seal`, not `run`
    shutil.copyfile(copy / history.names[0], copy / "run001-copy.age")
    found = [d for _, d in failures(verify_chain(copy))]
    assert any(d.startswith("inserted: ") and f"{outside.name}.receipt.json" in d and "outside" in d for d in found)
    assert any(d.startswith("inserted: run001-copy.age is a copy of run 1") for d in found)


def test_a_folder_with_foreign_archives_is_one_line_exit_2(history: Built, run_keys: Keys, copy: Path,
                                                          tmp_path: Path) -> None:
    other = tmp_path / "other-case"
    from tests.seal.helpers import make_case

    make_case(other)
    from evidence_kit.seal.seal import SealOptions, seal

    seal(SealOptions(case_dir=other, output=copy / "foreign.age", sign_key=run_keys.sign_key,
                     recipients=[run_keys.recipient]))
    with pytest.raises(ArchiveError, match="archives of 2 cases"):
        verify_chain(copy)
    proc = cli(["verify", "--chain", str(copy)], history.env, timeout=60)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    (copy / "foreign.age.receipt.json").write_text('{"not": "a receipt"}')
    proc = cli(["verify", "--chain", str(copy)], history.env, timeout=60)
    assert proc.returncode == 2 and "not an evidence-kit receipt" in proc.stderr
    proc = cli(["verify", "--chain", str(tmp_path / "nowhere")], history.env, timeout=60)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_tampering_through_the_cli_exits_1_and_names_the_run(history: Built, copy: Path) -> None:
    (copy / history.names[1]).unlink()
    (copy / f"{history.names[1]}.receipt.json").unlink()
    proc = cli(["verify", "--chain", str(copy)], history.env, timeout=60)
    assert proc.returncode == 1
    assert "FAIL  run 2" in proc.stdout and history.names[1] in proc.stdout and "VERIFICATION FAILED" in proc.stdout


def test_history_from_the_case_and_from_the_archive_folder(history: Built, run_keys: Keys) -> None:
    from_case = cli(["history", str(history.case), "--json"], history.env, timeout=60)
    assert from_case.returncode == 0, from_case.stderr
    data = json.loads(from_case.stdout)
    assert [r["run"] for r in data["runs"]] == [1, 2, 3, 4]
    assert [r["archive"] for r in data["runs"]] == history.names
    web = [(p["run"], p["outcome"], p["change"]) for p in data["targets"]["web-gw"]]
    assert web == [(1, "login_ok", None), (2, "login_ok", None), (3, "auth_failed", "credential_failed"),
                   (4, "login_ok", "credential_recovered")]
    assert {p["outcome"] for p in data["targets"]["core-sw"]} == {"login_ok"}

    csv_out = cli(["history", str(history.case), "--csv"], history.env, timeout=60)
    assert csv_out.returncode == 0
    lines = csv_out.stdout.splitlines()
    assert lines[0].startswith("case_id,client,run,run_started,target,") and len(lines) == 1 + 8
    assert any(",3," in line and ",web-gw," in line and ",auth_failed,credential_failed," in line for line in lines)

    table = cli(["history", str(history.case)], history.env, timeout=60)
    assert table.returncode == 0
    row = next(line for line in table.stdout.splitlines() if line.startswith("web-gw"))
    assert row.split()[1:] == ["ok", "ok", "AUTH-FAIL", "ok"]

    sealed = cli(["history", str(history.archives), "--identity", str(run_keys.identity), "--json"], history.env,
                 timeout=120)
    assert sealed.returncode == 0, sealed.stdout + sealed.stderr
    view = json.loads(sealed.stdout)
    assert view["verified"] is True
    # The newest archive was sealed before run 4's own seal was journaled: its runs are 1..4 all the same.
    assert [(p["run"], p["outcome"]) for p in view["targets"]["web-gw"]] == [(r, o) for r, o, _ in web]
    assert [r["archive"] for r in view["runs"]] == history.names
    assert_no_secrets(history.folder, [v for k, v in history.env.items() if k.startswith("EKT_")])



def test_the_next_run_links_to_the_furthest_of_journal_and_folder(history: Built, copy: Path,
                                                                 tmp_path: Path) -> None:
    from evidence_kit.case.journal import check_journal
    from evidence_kit.schedule.chain import previous_link

    case_id = json.loads((history.case / "case.json").read_text())["case_id"]
    newest = history.names[3]
    (copy / newest).unlink()
    (copy / f"{newest}.receipt.json").unlink()
    link = previous_link(history.case, copy, case_id)  # the newest was deleted: still linked to
    assert (link.source, link.position, link.archive) == ("journal", 4, newest)
    assert link.warning and "does not hold it" in link.warning

    case = tmp_path / "case"
    shutil.copytree(history.case, case)
    lines = (case / "journal.jsonl").read_bytes().splitlines(keepends=True)
    assert b'"event":"run_sealed"' in lines[-1]
    (case / "journal.jsonl").write_bytes(b"".join(lines[:-1]))  # the last seal never reached the journal
    assert check_journal(case / "journal.jsonl").ok
    link = previous_link(case, history.archives, case_id)
    assert (link.source, link.position, link.archive, link.warning) == ("folder", 4, newest, None)
