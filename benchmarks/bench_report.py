"""Report of a large case: 200 targets, 1,000 screenshots, made with the real case API and sealed.

    python3 benchmarks/bench_report.py [--targets 200] [--shots 5] [--no-pdf] [--dir DIR] [--keep]

Each web target journals what the web driver journals (TLS chain, navigation, screenshots as an
original PNG plus a stamped copy made by evidence_kit.case.screenshots, a credential commitment, an
outcome); every fifth target is an SSH session with a 400-line asciicast instead. Screenshots
are 1280x800 PNGs of a drawn admin page (header, menu, table of text), each one different, so
PNG sizes are like real ones. The case is sealed with the real seal code (no TSA), then the
report is made as HTML and as PDF; times, sizes and peak memory are printed.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = ("interface", "status", "enabled", "admin", "firewall", "rule", "allow", "deny", "10.0.0.1", "wan", "lan",
         "uptime", "42 days", "version", "24.03", "dhcp", "dns", "gateway", "vpn", "tunnel", "certificate")


def admin_page(rng: random.Random, title: str) -> bytes:
    """A 1280x800 PNG that looks like an admin console (flat colours, lots of text)."""
    import io

    from PIL import Image, ImageDraw

    from evidence_kit.case.screenshots import _font

    img = Image.new("RGB", (1280, 800), (245, 246, 248))
    draw = ImageDraw.Draw(img)
    font = _font()
    draw.rectangle((0, 0, 1280, 56), fill=(rng.randint(0, 80), rng.randint(40, 120), rng.randint(100, 180)))
    draw.text((20, 18), title, fill=(255, 255, 255), font=font)
    draw.rectangle((0, 56, 220, 800), fill=(40, 44, 52))
    for i in range(14):
        draw.text((20, 80 + i * 40), rng.choice(WORDS).title(), fill=(210, 210, 210), font=font)
    for row in range(26):
        y = 80 + row * 27
        draw.rectangle((240, y, 1260, y + 24), fill=(255, 255, 255) if row % 2 else (236, 239, 244))
        x = 250
        for _ in range(6):
            word = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
            draw.text((x, y + 4), word, fill=(30, 30, 30), font=font)
            x += 168
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def cast_bytes(rng: random.Random, lines: int) -> bytes:
    rows = [json.dumps({"version": 2, "width": 120, "height": 40, "timestamp": int(time.time()), "title": "bench"})]
    t = 0.0
    for i in range(lines):
        t += rng.random() / 20
        colour = "\x1b[32m" if i % 7 == 0 else ""
        rows.append(json.dumps([round(t, 6), "o", f"{colour}line {i} " + " ".join(rng.choice(WORDS) for _ in range(8))
                                + ("\x1b[0m" if colour else "") + "\r\n"]))
    return ("\n".join(rows) + "\n").encode()


def build_case(root: Path, targets: int, shots: int, seed: int = 7) -> tuple[str, int]:
    from concurrent.futures import ThreadPoolExecutor

    from evidence_kit.case.case import Case, CaseDetails
    from evidence_kit.case.journal import utc_now
    from evidence_kit.case.outcome import Outcome
    from evidence_kit.case.screenshots import StampInfo, stamp_png
    from evidence_kit.secrets import Secret

    case = Case.open_for_capture(root, CaseDetails("Bench Client", "Bench MSP", "Bench Technician"),
                                 {"tool": {"name": "evidence-kit", "version": "bench"}})
    total_shots = 0
    outcomes = [Outcome.LOGIN_OK] * 7 + [Outcome.AUTH_FAILED, Outcome.LOGIN_LIMITED, Outcome.TIMEOUT]
    web_targets = [i for i in range(targets) if i % 5 != 4]
    per_web = {i: 0 for i in web_targets}
    for n in range(targets * shots):  # all screenshots on the web targets, round robin
        per_web[web_targets[n % len(web_targets)]] += 1
    def one(i: int) -> int:
        # Threads, like capture's own pool: the case API is thread-safe; Pillow drops the GIL.
        rng = random.Random(seed * 100_000 + i)
        name = f"target-{i:03d}"
        password = f"bench-pw-{i}-{rng.random()}"
        shots = 0
        if i % 5 == 4:
            with case.target(name, kind="ssh", profile="cisco_ios", address=f"10.0.{i // 250}.{i % 250}:22",
                             secrets={"password": Secret(password, "bench")}) as s:
                s.add_artifact("host_key.pub", b"ssh-ed25519 AAAAC3Nza bench\n", "host_key", "text/plain")
                s.add_artifact("session.cast", cast_bytes(rng, 400), "asciicast", "application/x-asciicast")
                s.set_identity(host_key=f"SHA256:bench{i}", account="admin", mode="privilege_exec")
                s.finish(rng.choice(outcomes), "bench")
            return 0
        with case.target(name, kind="web", profile="pfsense_web", address=f"https://10.1.{i // 250}.{i % 250}/",
                         secrets={"password": Secret(password, "bench")}) as s:
            s.event("navigation", {"final_url": f"https://10.1.0.{i % 250}/index.php", "title": "Dashboard",
                                   "status": 200})
            for seq in range(1, per_web[i] + 1):
                png = admin_page(rng, f"{name} - page {seq}")
                taken = utc_now()
                rec = s.add_artifact(f"{seq:02d}-step.png", png, "screenshot", "image/png", False, label=f"step {seq}",
                                     url=f"https://10.1.0.{i % 250}/p{seq}", seq=seq, taken=taken)
                stamped = stamp_png(png, StampInfo(taken, case.case_id, name, f"https://10.1.0.{i % 250}/p{seq}", seq,
                                                   rec.sha256))
                s.add_artifact(f"{seq:02d}-step.stamped.png", stamped, "screenshot_stamped", "image/png", False,
                               original_sha256=rec.sha256, original=rec.path, label=f"step {seq}", seq=seq)
                shots += 1
            s.set_identity(tls_leaf_sha256=f"{i:064x}", final_url=f"https://10.1.0.{i % 250}/index.php")
            s.finish(rng.choice(outcomes), "bench")
        return shots

    with ThreadPoolExecutor(4) as pool:
        total_shots = sum(pool.map(one, range(targets)))
    case.close({"targets": targets})
    return case.case_id, total_shots


def peak_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--shots", type=int, default=5, help="screenshots per target on average (all on web targets)")
    parser.add_argument("--no-pdf", action="store_true")
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", type=Path, default=None,
                        help="a folder kept by an earlier --keep run: skip building and sealing the case")
    args = parser.parse_args(argv)

    from evidence_kit.report import write_report

    work = args.reuse or Path(tempfile.mkdtemp(prefix="bench-report-", dir=args.dir))
    result: dict[str, float] = {}
    keep = args.keep or args.reuse is not None
    try:
        if args.reuse is None:
            _build_and_seal(work, args, result)
        from types import SimpleNamespace

        keys = SimpleNamespace(folder=work / "keys")
        identity = [keys.folder / "age-identity.txt"]
        for compact in (False, True):
            tag = "compact" if compact else "exact"
            t0 = time.perf_counter()
            html = write_report(work / "case.age", work / f"report-{tag}.html", identity_files=identity,
                                compact_images=compact)
            result[f"html_{tag}_s"] = time.perf_counter() - t0
            result[f"html_{tag}_mb"] = html.size / 1e6
            own, _ = peak_mb()
            print(f"HTML report ({tag} images): {result[f'html_{tag}_s']:.1f} s (verify + extract + read + write), "
                  f"{html.size / 1e6:.1f} MB, {html.targets} targets, {html.screenshots} screenshots; "
                  f"peak RSS {own:.0f} MB", flush=True)
        if not args.no_pdf:
            for compact in (False, True):
                tag = "compact" if compact else "exact"
                t0 = time.perf_counter()
                pdf = write_report(work / "case.age", work / f"report-{tag}.pdf", identity_files=identity,
                                   compact_images=compact)
                result[f"pdf_{tag}_s"] = time.perf_counter() - t0
                result[f"pdf_{tag}_mb"] = pdf.size / 1e6
                result[f"pdf_{tag}_pages"] = float(pdf.pages or 0)
                own, children = peak_mb()
                print(f"PDF report ({tag} images): {result[f'pdf_{tag}_s']:.1f} s (two prints, for the contents' "
                      f"page numbers), {pdf.size / 1e6:.1f} MB, {pdf.pages} pages; peak RSS {own:.0f} MB "
                      f"(largest child {children:.0f} MB)", flush=True)
        if keep:
            print(f"kept in {work}")
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    return result


def _build_and_seal(work: Path, args: argparse.Namespace, result: dict[str, float]) -> None:
    from evidence_kit.seal.keys import generate
    from evidence_kit.seal.seal import SealOptions, seal

    t0 = time.perf_counter()
    case_id, shots = build_case(work / "case", args.targets, args.shots)
    result["build_case_s"] = time.perf_counter() - t0
    payload = sum(p.stat().st_size for p in (work / "case").rglob("*") if p.is_file())
    keys = generate(work / "keys")
    t0 = time.perf_counter()
    sealed = seal(SealOptions(case_dir=work / "case", output=work / "case.age",
                              sign_key=work / "keys" / "signing-key.pem", recipients=[keys.recipient]))
    result["seal_s"] = time.perf_counter() - t0
    print(f"case {case_id}: {args.targets} targets, {shots} screenshots (+ originals), payload "
          f"{payload / 1e6:.1f} MB; built in {result['build_case_s']:.1f} s, sealed in {result['seal_s']:.1f} s "
          f"({sealed.size / 1e6:.1f} MB)", flush=True)


if __name__ == "__main__":
    main()
