"""Run every benchmark, one after the other, each against its baseline in the same run.

    python3 benchmarks/run.py                 # the issue sizes (2 GB seal, 100 SSH, 20 web logins, 500 scheduled...)
    python3 benchmarks/run.py --quick         # small sizes, a couple of minutes
    python3 benchmarks/run.py --only ssh web  # some of them

Each benchmark prints its own table and ratio; this runner only orders them and reports which
failed to run. Needs root for the SSH and web ones (they start sshd / cockpit-ws with
throw-away users on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    # name: (full-size arguments, --quick arguments)
    "cli": (["--runs", "21"], ["--runs", "7"]),
    "ssh": (["--targets", "100", "--concurrency", "16", "--rounds", "2"], ["--targets", "30", "--concurrency", "8"]),
    # 100 SSH targets behind one jump host (network namespaces: root), pooled and not, vs paramiko
    "jump": (["--targets", "100", "--concurrency", "16", "--rounds", "2"], ["--targets", "30", "--concurrency", "8"]),
    "web": (["--logins", "20"], ["--logins", "6"]),
    # 10 RDP logons at concurrency 4 (xrdp, throw-away users: root), the driver vs a bare xfreerdp script
    "rdp": (["--logons", "10", "--concurrency", "4", "--rounds", "2"], ["--logons", "4", "--concurrency", "2"]),
    "seal": (["--size", "2G"], ["--size", "256M", "--repeat", "1"]),
    "report": (["--targets", "200", "--shots", "5"], ["--targets", "30", "--shots", "3", "--no-pdf"]),
    "import": (["--entries", "10000", "--rounds", "3"], ["--entries", "2000", "--rounds", "1"]),
    "handover": (["--targets", "200"], ["--targets", "30", "--repeat", "1", "--no-pdf"]),
    "schedule": (["--targets", "500", "--small", "50", "--servers", "4"],
                 ["--targets", "100", "--small", "20", "--servers", "2"]),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), help="run only these")
    args = parser.parse_args()
    failed = []
    for name, (full, quick) in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        cmd = [sys.executable, str(HERE / f"bench_{name}.py"), *(quick if args.quick else full)]
        print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
        start = time.monotonic()
        code = subprocess.call(cmd)
        print(f"=== {name}: exit {code} after {time.monotonic() - start:.0f} s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"benchmarks that did not run to the end: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
