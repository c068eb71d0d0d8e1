"""RDP logon to screenshot: evidence-kit's RDP driver (a capture run) against a bare xfreerdp script, same server.

Run (as root: it starts xrdp and creates throw-away users, removed afterwards):

    python benchmarks/bench_rdp.py                          # 10 logons, concurrency 4, xrdp
    python benchmarks/bench_rdp.py --logons 10 --concurrency 4 --rounds 2

Variants, each over the same N accounts (xrdp: one user per logon, so concurrent logons never
share a session; a first unmeasured pass starts their sessions, so every variant reconnects):
  ours         the product: evidence_kit.capture.capture() with an inventory of N rdp targets
               (RdpDriver, evidence_kit/drivers/rdp/driver.py) into a fresh case at the same
               concurrency: negotiate probe, certificate artifact and trust decision, private Xvfb
               with a cookie, xfreerdp with the password on stdin and the probed certificate
               pinned, log and frames watched until the desktop is painted and stable for
               ``settle`` (2 s) and the logon confirmed, original + stamped screenshot, FreeRDP log
               and console through the redactor, journal with commitments, clean disconnect;
  ours-settle  the same with settle 0.5 s (how much of "ours" is the stability wait);
  bare         a script: Xvfb -displayfd, xfreerdp /cert:ignore with the password on stdin, poll
               the screen until the known desktop colour covers it, one PNG, SIGTERM (the floor:
               it knows what the desktop looks like and proves nothing else).
Printed: wall time per variant, per-logon median/max (start to screenshot), ratio ours/bare.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WIDTH, HEIGHT = 1024, 768


def ours(targets: list[dict], concurrency: int, settle: float) -> list[tuple[str, float]]:
    """One capture run of every target through the RDP driver; per target (outcome, seconds)."""
    import yaml

    from evidence_kit.capture import RunOptions, capture
    from evidence_kit.inventory import load_inventory
    from evidence_kit.profiles import ProfileRegistry
    from evidence_kit.secrets import SecretResolver

    with tempfile.TemporaryDirectory(prefix="ekt-bench-rdp-") as work:
        root = Path(work)
        (root / "profiles").mkdir()
        (root / "profiles" / "bench_rdp.yaml").write_text(yaml.safe_dump({
            "name": "bench_rdp", "kind": "rdp", "width": WIDTH, "height": HEIGHT, "settle": settle,
            "timeouts": {"connect": 20, "logon": 90}}))
        env, rows = {}, []
        for i, t in enumerate(targets):
            env[f"BENCH_RDP_{i}"] = t["password"]
            rows.append({"name": f"rdp-{i:02d}", "profile": "bench_rdp", "host": t["host"], "port": t["port"],
                         "username": t["username"], "password": f"env:BENCH_RDP_{i}", "allow_self_signed": True})
        (root / "inventory.yaml").write_text(yaml.safe_dump({
            "case": {"client": "Bench", "provider": "Bench", "technician": "Bench"}, "targets": rows}))
        inv = load_inventory(root / "inventory.yaml", ProfileRegistry([root / "profiles"], use_env=False))
        result = capture(inv, root / "case", SecretResolver(environ=env), RunOptions(concurrency=concurrency))
    out = []
    for r in result.results:
        if r.outcome.value != "login_ok":
            print(f"  {r.name}: {r.outcome.value}: {r.detail}", file=sys.stderr)
        seconds = (_utc(r.finished) - _utc(r.started)).total_seconds()
        out.append(("ok" if r.outcome.value == "login_ok" else r.outcome.value, seconds))
    return out


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def bare(target: dict) -> tuple[str, float]:
    from PIL import Image
    from Xlib import X
    from Xlib import display as xdisplay

    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ekt-bench-bare-") as work:
        number = Path(work) / "display"
        with open(number, "wb") as fd_file:
            xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(fd_file.fileno()), "-screen", "0",
                                     f"{WIDTH}x{HEIGHT}x24", "-nolisten", "tcp"], pass_fds=(fd_file.fileno(),),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = None
        try:
            while not number.read_text().endswith("\n"):
                time.sleep(0.02)
            disp = ":" + number.read_text().strip()
            user = f"{target['domain']}\\{target['username']}" if target["domain"] else target["username"]
            client = subprocess.Popen(
                ["xfreerdp", f"/v:{target['host']}:{target['port']}", f"/u:{user}", "/from-stdin:force",
                 "/cert:ignore", f"/size:{WIDTH}x{HEIGHT}", "-decorations", "/log-level:ERROR"],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env={**os.environ, "DISPLAY": disp, "HOME": work},
            )
            assert client.stdin is not None
            client.stdin.write(target["password"].encode() + b"\n")
            client.stdin.close()
            conn = xdisplay.Display(disp)
            root = conn.screen().root
            deadline = t0 + 90
            while time.monotonic() < deadline and client.poll() is None:
                raw = root.get_image(0, 0, WIDTH, HEIGHT, X.ZPixmap, 0xFFFFFFFF).data
                image = Image.frombytes("RGB", (WIDTH, HEIGHT), raw, "raw", "BGRX")
                small = image.resize((WIDTH // 8, HEIGHT // 8), 0)
                top = max(small.getcolors(WIDTH * HEIGHT) or [(0, None)], key=lambda c: c[0])
                if top[1] == tuple(target["rgb"]) and top[0] > small.width * small.height // 2:
                    image.save(Path(work) / "shot.png")
                    return "ok", time.monotonic() - t0
                time.sleep(0.1)
            return "no-desktop", time.monotonic() - t0
        finally:
            if client is not None and client.poll() is None:
                client.terminate()
                client.wait(10)
            xvfb.terminate()
            xvfb.wait(10)


def run_variant(name: str, targets: list[dict], concurrency: int) -> dict:
    start = time.perf_counter()
    if name == "bare":
        with ThreadPoolExecutor(concurrency) as pool:
            results = list(pool.map(bare, targets))
    else:
        results = ours(targets, concurrency, 2.0 if name == "ours" else 0.5)
    wall = time.perf_counter() - start
    counts: dict[str, int] = {}
    for outcome, _ in results:
        counts[outcome] = counts.get(outcome, 0) + 1
    per = [t for _, t in results]
    return {"wall": wall, "counts": counts, "median": statistics.median(per), "max": max(per)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logons", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=1, help="repeat and report the best of each")
    args = parser.parse_args()

    from tests.servers.xrdp import XrdpServer

    # xrdp, not freerdp-shadow: the bare script's colour wait never matched through the shadow
    # server at concurrency 4 (not investigated yet), and xrdp starts real per-user sessions.
    with XrdpServer(roles=tuple(f"b{i}" for i in range(args.logons))) as srv:
        accounts = list(srv.accounts.values())
        chosen = [accounts[i % len(accounts)] for i in range(args.logons)]
        targets = [{"host": srv.host, "port": srv.port, "username": a.username, "password": a.password,
                    "domain": a.domain, "rgb": a.rgb} for a in chosen]
        warm = run_variant("bare", targets, args.concurrency)  # xrdp: starts every user's session once
        print(f"warm-up (bare, starts the sessions): {warm['wall']:.1f} s {warm['counts']}")
        best: dict[str, dict] = {}
        for _ in range(args.rounds):
            for variant in ("bare", "ours", "ours-settle"):
                got = run_variant(variant, targets, args.concurrency)
                if variant not in best or got["wall"] < best[variant]["wall"]:
                    best[variant] = got
    print(f"RDP benchmark: {args.logons} logons, concurrency {args.concurrency}, xrdp, "
          f"{WIDTH}x{HEIGHT}, best of {args.rounds} round(s)")
    print(f"{'variant':<12} {'wall s':>7} {'median s':>9} {'max s':>7}  outcomes")
    for variant in ("bare", "ours", "ours-settle"):
        r = best[variant]
        print(f"{variant:<12} {r['wall']:>7.2f} {r['median']:>9.2f} {r['max']:>7.2f}  {r['counts']}")
    print(f"ratio ours/bare = {best['ours']['wall'] / best['bare']['wall']:.2f}x; "
          f"ours-settle/bare = {best['ours-settle']['wall'] / best['bare']['wall']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
