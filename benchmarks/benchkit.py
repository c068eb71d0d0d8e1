"""What the benchmarks that measure in child processes share: each variant runs in a fresh
Python process (so peak memory is its own), reads its spec as JSON on stdin and prints one JSON
line of figures."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_mib() -> float:
    """This process's peak resident memory, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(script: str, variant: str, spec: dict[str, Any], env_extra: dict[str, str],
              timeout: float) -> dict[str, Any]:
    """Run ``script --child VARIANT`` with ``spec`` on stdin; its last stdout line, parsed."""
    env = {**os.environ, **env_extra, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, script, "--child", variant], input=json.dumps(spec), env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{proc.stderr[-3000:]}")
    got: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return got
