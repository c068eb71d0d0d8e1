"""Web capture cost: N logins to a local Cockpit, evidence-kit vs a bare Playwright script.

Run (as root: it creates a throwaway local user, Cockpit refuses root logins):

    python benchmarks/bench_web.py --logins 20 --concurrency 4

Both sides use the same browser (one Chromium, one fresh context per login) and the same
concurrency. The bare script does goto + fill + fill + click + wait for Cockpit's menu + one
screenshot. evidence-kit does the whole capture: TLS/navigation record, screenshots at the
login page, after submit and at success (each stamped and hashed), the privilege check,
credential commitments, the hash-chained journal, the trace (scrubbed and scanned) and the
video. Prints both wall times and the ratio; ``--json FILE`` writes them too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COCKPIT_WS = "/usr/lib/cockpit/cockpit-ws"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_cockpit() -> tuple[subprocess.Popen[bytes], int]:
    import socket

    port = free_port()
    proc = subprocess.Popen([COCKPIT_WS, "--no-tls", "--port", str(port), "--address", "127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(150):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("cockpit-ws did not start")


async def bare(url: str, user: str, password: str, logins: int, concurrency: int, record: Path | None = None) -> float:
    """The bare script; with ``record``, it also records Playwright's trace and video (no scrub)."""
    from playwright.async_api import async_playwright

    from evidence_kit.browser import find_browser, launch_kwargs

    started = time.perf_counter()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**launch_kwargs(find_browser()))
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                extra: dict[str, object] = {}
                if record is not None:
                    extra = {"record_video_dir": str(record), "record_video_size": {"width": 800, "height": 500}}
                context = await browser.new_context(viewport={"width": 1280, "height": 800}, **extra)
                if record is not None:
                    await context.tracing.start(screenshots=True, snapshots=True)
                page = await context.new_page()
                await page.goto(url)
                await page.fill("#login-user-input", user)
                await page.fill("#login-password-input", password)
                await page.click("#login-button")
                await page.wait_for_selector("#toggle-menu", state="attached", timeout=60_000)
                await page.screenshot()
                if record is not None:
                    await context.tracing.stop(path=str(record / f"trace-{id(context)}.zip"))
                await context.close()

        await asyncio.gather(*(one() for _ in range(logins)))
        await browser.close()
    return time.perf_counter() - started


def ours(
    url: str, user: str, password: str, logins: int, concurrency: int, work: Path, evidence: bool = True,
) -> tuple[float, dict[str, int]]:
    import yaml

    from evidence_kit.capture import capture
    from evidence_kit.drivers.base import RunOptions
    from evidence_kit.inventory import load_inventory
    from evidence_kit.profiles import ProfileRegistry
    from evidence_kit.secrets import SecretResolver

    work.mkdir(parents=True, exist_ok=True)
    inv = work / "inventory.yaml"
    inv.write_text(yaml.safe_dump({
        "case": {"client": "Bench", "provider": "Bench", "technician": "Bench"},
        "targets": [{"name": f"cockpit-{i:02d}", "profile": "cockpit_web", "url": url, "username": user,
                     "password": "env:BENCH_PW"} for i in range(logins)],
    }))
    inventory = load_inventory(inv, ProfileRegistry(use_env=False))
    started = time.perf_counter()
    report = capture(inventory, work / "case", SecretResolver(environ={"BENCH_PW": password}),
                     RunOptions(concurrency=concurrency, record_trace=evidence, record_video=evidence))
    return time.perf_counter() - started, report.counts()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--logins", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--breakdown", action="store_true",
                    help="also time evidence-kit without trace and video (RunOptions record_trace/record_video off)")
    args = ap.parse_args()
    if os.geteuid() != 0 or not os.path.exists(COCKPIT_WS):
        raise SystemExit("needs root and cockpit-ws (apt-get install cockpit-ws cockpit-bridge cockpit-system)")
    user = f"ekbench{secrets.token_hex(3)}"
    password = f"Bench-{secrets.token_urlsafe(12)}"
    subprocess.run(["useradd", "-M", "-s", "/bin/bash", user], check=True)
    proc = None
    try:
        subprocess.run(["chpasswd"], input=f"{user}:{password}".encode(), check=True)
        proc, port = start_cockpit()
        url = f"http://127.0.0.1:{port}/"
        from tests.servers.cockpit import kill_user_processes

        load_before = os.getloadavg()[0]
        with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
            t_bare = asyncio.run(bare(url, user, password, args.logins, args.concurrency))
            kill_user_processes(user)  # Cockpit sessions the bare run left behind must not slow ours
            t_ours, counts = ours(url, user, password, args.logins, args.concurrency, Path(tmp) / "full")
            case_mb = sum(p.stat().st_size for p in Path(tmp, "full", "case").rglob("*") if p.is_file()) / 1e6
            t_lean = t_bare_rec = None
            if args.breakdown:
                from evidence_kit.browser import prepare_video_support

                video = prepare_video_support()
                env = {"PLAYWRIGHT_BROWSERS_PATH": video.browsers_path} if video.browsers_path else {}
                os.environ.update(env)  # this process only: Playwright's driver reads it at start
                kill_user_processes(user)
                t_bare_rec = asyncio.run(bare(url, user, password, args.logins, args.concurrency, Path(tmp)))
                kill_user_processes(user)
                t_lean, _ = ours(url, user, password, args.logins, args.concurrency, Path(tmp) / "lean",
                                 evidence=False)
        figures = {
            "logins": args.logins, "concurrency": args.concurrency, "bare_playwright_s": round(t_bare, 2),
            "evidence_kit_s": round(t_ours, 2), "ratio": round(t_ours / t_bare, 2), "outcomes": counts,
            "case_mb": round(case_mb, 1), "load_average_before": round(load_before, 1),
            "evidence_kit_without_trace_video_s": round(t_lean, 2) if t_lean else None,
            "bare_with_trace_video_s": round(t_bare_rec, 2) if t_bare_rec else None,
        }
        print(f"{args.logins} Cockpit logins, concurrency {args.concurrency} (load average before: {load_before:.1f})")
        print(f"  bare Playwright script : {t_bare:7.2f} s")
        print(f"  evidence-kit capture   : {t_ours:7.2f} s   outcomes {counts}, case {case_mb:.1f} MB")
        print(f"  ratio                  : {t_ours / t_bare:7.2f}x")
        if t_lean and t_bare_rec:
            print(f"  evidence-kit without trace and video : {t_lean:7.2f} s   ratio {t_lean / t_bare:.2f}x")
            print(f"  bare script + Playwright trace/video : {t_bare_rec:7.2f} s   "
                  f"(evidence-kit full / this = {t_ours / t_bare_rec:.2f}x)")
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        from tests.servers.cockpit import kill_user_processes

        kill_user_processes(user)
        subprocess.run(["userdel", "-f", user], check=False, capture_output=True)


if __name__ == "__main__":
    main()
