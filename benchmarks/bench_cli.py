"""CLI start-up: `evidence-kit --help` against a bare `python -c pass`, in one run.

    python3 benchmarks/bench_cli.py [--runs 21]

Prints the median of each and the difference, so a noisy machine still gives a comparable
figure (the interpreter's own start-up is the baseline). Target: --help median under 0.3 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def median_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args(argv)
    baseline = median_seconds([sys.executable, "-c", "pass"], args.runs)
    ours = median_seconds([sys.executable, "-m", "evidence_kit", "--help"], args.runs)
    result = {"python_startup_s": baseline, "help_s": ours, "overhead_s": ours - baseline,
              "ratio": ours / baseline}
    print(f"python -c pass       median {baseline * 1000:7.1f} ms")
    print(f"evidence-kit --help  median {ours * 1000:7.1f} ms  (x{ours / baseline:.2f} of bare python,"
          f" +{(ours - baseline) * 1000:.1f} ms)  target < 300 ms")
    return result


if __name__ == "__main__":
    main()
