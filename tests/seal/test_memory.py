"""Peak memory does not grow with the case: seal and verify a small and a 12x larger case in
fresh processes and compare their peak RSS (the benchmark does the same at 2 GB)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.seal.helpers import Keyset, make_case

_RUN = """
import sys
from evidence_kit.cli import main
sys.argv = ["evidence-kit", *sys.argv[1:]]
try:
    main()
finally:
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
    sys.stderr.write(f"\\nVMHWM {hwm}\\n")
"""


def _peak_rss_mib(args: list[str], env: dict[str, str]) -> int:
    """Peak RSS of a fresh evidence-kit process. VmHWM belongs to the process's own address space,
    so (unlike ru_maxrss) it does not count the test runner's pages seen before exec."""
    done = subprocess.run([sys.executable, "-c", _RUN, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return int(done.stderr.rsplit("VMHWM ", 1)[1].split()[0]) // 1024


@pytest.mark.parametrize("mode", ["recipient", "passphrase"])
def test_peak_memory_does_not_grow_with_the_case(mode: str, keyset: Keyset, tmp_path: Path) -> None:
    env = {**os.environ, "EK_TEST_PW": "memory test", "TMPDIR": str(tmp_path)}
    peaks = []
    for size in (4 << 20, 48 << 20):
        case = make_case(tmp_path / f"case{size}", payload=os.urandom(size))
        out = tmp_path / f"a{size}.age"
        key = (["-r", keyset.recipient] if mode == "recipient" else
               ["--passphrase-env", "EK_TEST_PW", "--scrypt-work-factor", "10"])
        seal_peak = _peak_rss_mib(["seal", str(case), *key, "--sign-key", str(keyset.sign_key), "-o", str(out)], env)
        open_key = ["-i", str(keyset.identity)] if mode == "recipient" else ["--passphrase-env", "EK_TEST_PW"]
        verify_peak = _peak_rss_mib(["verify", str(out), *open_key], env)
        peaks.append((seal_peak, verify_peak))
    (small_seal, small_verify), (big_seal, big_verify) = peaks
    assert big_seal - small_seal < 24, peaks
    assert big_verify - small_verify < 24, peaks
    assert big_seal < 200 and big_verify < 200, peaks
