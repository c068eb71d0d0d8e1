"""The machine refuses the seal's output: a full disk (a small tmpfs, for the archive and for the
receipt), a read-only file system, a folder the process may not write to; and a TSA that stopped
between two seals. Each time: one line, exit 2, nothing left at the output, the case unchanged,
and a seal to a place with room works."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.seal.faults import (
    assert_verifies,
    case_state,
    leftovers,
    needs_root,
    one_line,
    remount_read_only,
    run_seal,
    seal_argv,
    tmpfs,
)
from tests.seal.helpers import Keyset, make_case
from tests.servers.tsa import TSA

PAGE = 4096


@pytest.fixture(scope="module")
def mb_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A case of about 1 MB: more than the 300 KB tmpfs holds."""
    return make_case(tmp_path_factory.mktemp("mb") / "case", payload=os.urandom(1 << 20))


@pytest.fixture(scope="module")
def ssh_recipient(tmp_path_factory: pytest.TempPathFactory) -> str:
    key = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return " ".join(key.with_suffix(".pub").read_text().split()[:2])


def _seals_with_room(case: Path, keyset: Keyset, folder: Path) -> None:
    folder.mkdir()
    out = folder / "case.age"
    done = run_seal(seal_argv(case, out, keyset.recipient, keyset))
    assert done.returncode == 0, done.stderr
    assert_verifies(out, keyset)


@pytest.mark.parametrize("kind", ["age1", "ssh"])
def test_disk_full_while_writing_the_archive(kind: str, mb_case: Path, keyset: Keyset, ssh_recipient: str,
                                             tmp_path: Path) -> None:
    before = case_state(mb_case)
    recipient = keyset.recipient if kind == "age1" else ssh_recipient
    with tmpfs(tmp_path / "small", "300k") as small:
        out = small / "case.age"
        done = run_seal(seal_argv(mb_case, out, recipient, keyset))
        assert done.returncode == 2, done.stderr
        line = one_line(done.stderr)
        assert "disk full" in line and str(out) in line and "while writing the sealed archive" in line, line
        assert "nothing was sealed" in line, line
        assert leftovers(small) == []  # no archive, no receipt, no partial
    assert case_state(mb_case) == before
    _seals_with_room(mb_case, keyset, tmp_path / "room")


def test_disk_full_while_writing_the_receipt(mb_case: Path, keyset: Keyset, tmp_path: Path) -> None:
    """A tmpfs holding the archive to the last page: the receipt, written after it, finds no room."""
    probe = tmp_path / "probe"
    probe.mkdir()
    assert run_seal(seal_argv(mb_case, probe / "case.age", keyset.recipient, keyset)).returncode == 0
    archive_size = (probe / "case.age").stat().st_size  # the same case, key count and options: same size
    shutil.rmtree(probe)
    before = case_state(mb_case)
    with tmpfs(tmp_path / "exact", str(-(-archive_size // PAGE) * PAGE)) as exact:
        out = exact / "case.age"
        done = run_seal(seal_argv(mb_case, out, keyset.recipient, keyset))
        assert done.returncode == 2, done.stderr
        line = one_line(done.stderr)
        assert "disk full" in line and "while writing the receipt" in line and "nothing was sealed" in line, line
        assert leftovers(exact) == []  # the complete archive was not published without its receipt
    assert case_state(mb_case) == before


def test_read_only_output_folder(case_dir: Path, keyset: Keyset, tmp_path: Path) -> None:
    before = case_state(case_dir)
    with tmpfs(tmp_path / "ro", "1m") as ro:
        remount_read_only(ro)
        out = ro / "case.age"
        done = run_seal(seal_argv(case_dir, out, keyset.recipient, keyset))
        assert done.returncode == 2, done.stderr
        line = one_line(done.stderr)
        assert "read-only file system" in line and str(out) in line and "nothing was sealed" in line, line
        assert leftovers(ro) == []
    assert case_state(case_dir) == before
    _seals_with_room(case_dir, keyset, tmp_path / "room")


def test_permission_denied_on_the_output_folder(case_dir: Path, keyset: Keyset, tmp_path: Path) -> None:
    """Root ignores a folder's mode bits; the seal runs as root without CAP_DAC_OVERRIDE (setpriv), so a
    folder mode 0500 refuses it as it refuses any user who does not own it."""
    needs_root()
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop CAP_DAC_OVERRIDE")
    before = case_state(case_dir)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    locked.chmod(0o500)
    out = locked / "case.age"
    no_override = ("setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search")
    done = run_seal(seal_argv(case_dir, out, keyset.recipient, keyset), prefix=no_override)
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    assert "permission denied" in line and str(out) in line and "nothing was sealed" in line, line
    assert leftovers(locked) == []
    assert case_state(case_dir) == before
    locked.chmod(0o700)


def test_tsa_stopped_between_two_seals(case_dir: Path, keyset: Keyset, tmp_path: Path) -> None:
    """The policy (docs/sealing.md): a TSA that fails abandons the seal. The first archive is untouched."""
    server = TSA(tmp_path / "tsa").start()
    try:
        first = tmp_path / "first.age"
        done = run_seal(seal_argv(case_dir, first, keyset.recipient, keyset, "--tsa", server.url))
        assert done.returncode == 0, done.stderr
    finally:
        server.stop()
    before = case_state(case_dir)
    second = tmp_path / "second.age"
    done = run_seal(seal_argv(case_dir, second, keyset.recipient, keyset, "--tsa", server.url))
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    assert "unreachable" in line and server.url in line and "nothing was sealed" in line, line
    assert not [p for p in os.listdir(tmp_path) if "second.age" in p]
    assert case_state(case_dir) == before
    checked = subprocess.run([sys.executable, "-m", "evidence_kit", "verify", str(first), "-i", str(keyset.identity),
                              "--tsa-ca", str(server.root_pem)], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ALL CHECKS PASSED" in checked.stdout
