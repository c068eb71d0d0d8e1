"""SSH capture vs a bare paramiko floor: 100 targets against a local sshd, concurrency 16.

Run (as root: it starts its own sshd and creates a throw-away user, removed afterwards):

    python benchmarks/bench_ssh.py                      # 100 targets, concurrency 16
    python benchmarks/bench_ssh.py --targets 50 --concurrency 8 --rounds 3

One command runs, against the same sshd (MaxStartups 200:30:400, MaxSessions 50):
  ours         evidence-kit capture of N inventory targets (profile ``linux_bench``: the shipped
               ``linux`` profile with one identity command, ``uname -a``), into a fresh case:
               connect, host key recorded, password auth, interactive shell with prompt
               detection, the command, logout, asciicast + text transcript, hash-chained journal;
  ours-full    the same with the shipped ``linux`` profile unchanged (4 identity commands);
  bare         a paramiko script: connect + password auth + one ``exec_command("uname -a")``,
               nothing recorded (the floor);
  bare-shell   paramiko with an interactive shell: connect + auth + pty + wait for the prompt +
               the command + wait for the prompt again (what any expect-style tool must do);
  diag-nocommit  diagnostic only, not a product figure: "ours" with the scrypt credential
               commitment (n=2**15, r=8: 32 MiB and ~0.1 s CPU per target) swapped for SHA-256,
               to show how much of the gap and of the peak memory the commitments are.
Each variant runs in its own child process, so its peak RSS (ru_maxrss) is its own. Printed:
wall times, the ratio ours/bare, and peak memory. The password reaches the children through
the environment, never argv.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchkit import peak_rss_mib, run_child  # noqa: E402 - beside this script

PW_ENV = "EKT_BENCH_PASSWORD"
VARIANTS = ("bare", "ours", "bare-shell", "ours-full", "diag-nocommit")


# --- children ----------------------------------------------------------------------------------


def run_ours(spec: dict, full: bool, cheap_commit: bool = False) -> dict:
    import yaml

    if cheap_commit:  # diagnostic variant only
        import hashlib

        import evidence_kit.case.commitments as commitments

        def cheap(params: commitments.CommitmentParams, secret: str, target: str, field: str) -> str:
            return hashlib.sha256(params.salt + secret.encode() + target.encode() + field.encode()).hexdigest()

        commitments.derive = cheap

    from evidence_kit.capture import capture
    from evidence_kit.drivers.base import RunOptions
    from evidence_kit.inventory import load_inventory
    from evidence_kit.profiles import ProfileRegistry, builtin_dir
    from evidence_kit.secrets import SecretResolver

    work = Path(tempfile.mkdtemp(prefix="ekt-bench-"))
    profiles = work / "profiles"
    profiles.mkdir()
    data = yaml.safe_load((builtin_dir() / "linux.yaml").read_text())
    data.update(name="linux_bench", identity_commands=["uname -a"])
    (profiles / "linux_bench.yaml").write_text(yaml.safe_dump(data))
    targets = [
        {"name": f"t{i:03d}", "profile": "linux" if full else "linux_bench", "host": spec["host"],
         "port": spec["port"], "username": spec["username"], "password": f"env:{PW_ENV}",
         "known_hosts": spec["known_hosts"]}
        for i in range(spec["targets"])
    ]
    inv = work / "inventory.yaml"
    inv.write_text(yaml.safe_dump({"case": {"client": "Bench", "provider": "Bench", "technician": "Bench"},
                                   "targets": targets}))
    inventory = load_inventory(inv, ProfileRegistry(extra_dirs=[profiles]))
    start = time.perf_counter()
    report = capture(inventory, work / "case", SecretResolver(), RunOptions(concurrency=spec["concurrency"]))
    wall = time.perf_counter() - start
    entries = sum(1 for _ in (work / "case" / "journal.jsonl").open())
    shutil.rmtree(work, ignore_errors=True)
    return {"wall": wall, "counts": report.counts(), "rss_mib": peak_rss_mib(), "journal_entries": entries}


def run_bare(spec: dict, interactive: bool) -> dict:
    import paramiko

    password = os.environ[PW_ENV]
    prompt = re.compile(r"[$#] ?$")

    def one(_: int) -> str:
        client = paramiko.SSHClient()
        client.load_host_keys(spec["known_hosts"])
        try:
            client.connect(spec["host"], spec["port"], username=spec["username"], password=password,
                           look_for_keys=False, allow_agent=False, timeout=10, banner_timeout=15)
            if not interactive:
                _, out, _ = client.exec_command("uname -a", timeout=30)
                return "ok" if b"Linux" in out.read() else "bad"
            chan = client.invoke_shell(term="vt100", width=200, height=50)
            chan.settimeout(30)
            buf = b""
            for command in (None, "uname -a"):
                if command:
                    chan.send(command + "\n")
                    buf = b""
                while not prompt.search(buf.decode(errors="replace").replace("\x1b[?2004h", "")):
                    data = chan.recv(65536)
                    if not data:
                        return "closed"
                    buf += data
            return "ok" if b"Linux" in buf else "bad"
        except Exception as exc:
            return type(exc).__name__
        finally:
            client.close()

    start = time.perf_counter()
    with ThreadPoolExecutor(spec["concurrency"]) as pool:
        results = list(pool.map(one, range(spec["targets"])))
    wall = time.perf_counter() - start
    counts: dict[str, int] = {}
    for r in results:
        counts[r] = counts.get(r, 0) + 1
    return {"wall": wall, "counts": counts, "rss_mib": peak_rss_mib()}


# --- the driver of the benchmark ---------------------------------------------------------------


def child(variant: str, spec: dict, password: str) -> dict:
    return run_child(__file__, variant, spec, {PW_ENV: password}, timeout=900)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1, help="repeat and report the best of each")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        spec = json.loads(sys.stdin.read())
        runners = {
            "ours": lambda: run_ours(spec, full=False), "ours-full": lambda: run_ours(spec, full=True),
            "bare": lambda: run_bare(spec, interactive=False), "bare-shell": lambda: run_bare(spec, interactive=True),
            "diag-nocommit": lambda: run_ours(spec, full=False, cheap_commit=True),
        }
        print(json.dumps(runners[args.child]()))
        return 0

    from tests.servers.sshd import SshdServer

    with SshdServer(roles=["linux"], max_startups="200:30:400", max_sessions=50) as targets:
        account = targets.account("linux")
        spec = {"host": targets.host, "port": targets.port, "username": account.username,
                "known_hosts": str(targets.known_hosts), "targets": args.targets,
                "concurrency": args.concurrency}
        best: dict[str, dict] = {}
        for _ in range(args.rounds):
            for variant in VARIANTS:
                got = child(variant, spec, account.password)
                if variant not in best or got["wall"] < best[variant]["wall"]:
                    best[variant] = got

    print(f"SSH benchmark: {args.targets} targets, concurrency {args.concurrency}, "
          f"local OpenSSH sshd, best of {args.rounds} round(s)")
    print(f"{'variant':<13} {'wall s':>8} {'per target ms':>14} {'peak RSS MiB':>13}  outcomes")
    for variant in VARIANTS:
        r = best[variant]
        print(f"{variant:<13} {r['wall']:>8.2f} {1000 * r['wall'] / args.targets:>14.1f} "
              f"{r['rss_mib']:>13.1f}  {r['counts']}")
    ratio = best["ours"]["wall"] / best["bare"]["wall"]
    print(f"ratio ours/bare = {ratio:.2f}x (goal: within 1.3x); "
          f"ours/bare-shell = {best['ours']['wall'] / best['bare-shell']['wall']:.2f}x; "
          f"ours-full/bare = {best['ours-full']['wall'] / best['bare']['wall']:.2f}x; "
          f"diag-nocommit/bare = {best['diag-nocommit']['wall'] / best['bare']['wall']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
