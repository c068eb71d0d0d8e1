"""Handover of a many-target case, against seal of the same case.

Run (one command):

    python3 benchmarks/bench_handover.py --targets 200

It builds a case through the real case API: ``--targets`` SSH targets, each with its own
password and a shared enable secret (journaled as credential commitments, as capture does), a
transcript of ``--transcript-kib`` and a small JSON record per target, the client's
authorization and recipient, and an inventory of ``env:`` references to those secrets that the
case's ``run_started`` entry names (file and SHA-256). Then, each in its own process (peak RSS
from ``wait4``), interleaved and best of ``--repeat``:

* ``evidence-kit seal CASE``                               (the baseline)
* ``evidence-kit handover CASE --no-pdf``                  (seal + credential checks + KDBX + transmittal)
* ``evidence-kit handover CASE`` with the PDF letter       (as above + Chromium)

and, in this process, the parts of a handover on their own: resolving and checking every
credential against its commitment (one scrypt per distinct secret, on every core), and
building the KDBX 4 file (Argon2d). Prints each time, the ratio handover / seal and peak RSS;
``--json FILE`` writes the figures too. Everything is built under ``--workdir`` and removed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def make_case(work: Path, targets: int, transcript_kib: int) -> tuple[Path, dict[str, str], str]:
    """(case folder, the secrets' environment, client recipient)."""
    from evidence_kit.case.case import Case, CaseDetails
    from evidence_kit.case.hostfacts import run_facts
    from evidence_kit.case.outcome import Outcome
    from evidence_kit.seal import keys
    from evidence_kit.secrets import Secret

    client = keys.generate(work / "client")
    env = {"BENCH_EN": "En-" + secrets.token_urlsafe(12)}
    rows = []
    for i in range(targets):
        env[f"BENCH_PW_{i:04d}"] = f"Pw-{i:04d}-" + secrets.token_urlsafe(12)
        rows.append(f"  - {{name: rtr-{i:04d}, profile: cisco_ios, host: 10.{i // 250}.{i % 250}.1, port: 22, "
                    f"username: admin, password: env:BENCH_PW_{i:04d}, enable_secret: env:BENCH_EN}}\n")
    (work / "authorization.txt").write_text("The client authorizes the handover to New Provider.\n")
    inventory = work / "inventory.yaml"
    inventory.write_text("case: {client: Bench Client, provider: Bench MSP, technician: Bench Tech, "
                         f"authorization: authorization.txt, recipients: [{client.recipient}]}}\ntargets:\n"
                         + "".join(rows))
    digest = hashlib.sha256(inventory.read_bytes()).hexdigest()
    root = work / "case"
    case = Case.open_for_capture(
        root, CaseDetails("Bench Client", "Bench MSP", "Bench Tech", authorization=work / "authorization.txt",
                          recipients=(client.recipient,)),
        run_facts(digest, {"inventory": inventory.name, "targets": [f"rtr-{i:04d}" for i in range(targets)]}))
    line = b"2026-11-25T08:00:00.000000Z router# show running-config | include hostname\n"
    transcript = (line * (transcript_kib * 1024 // len(line) + 1))[: transcript_kib * 1024]
    for i in range(targets):
        name = f"rtr-{i:04d}"
        with case.target(name, "ssh", "cisco_ios", f"10.{i // 250}.{i % 250}.1:22", secrets={
                "password": Secret(env[f"BENCH_PW_{i:04d}"], "env"), "enable_secret": Secret(env["BENCH_EN"], "env"),
        }) as session:
            session.add_artifact("session.txt", transcript, kind="transcript", media_type="text/plain")
            session.add_artifact("identity.json", json.dumps({"hostname": name}).encode(), kind="identity",
                                 media_type="application/json")
            session.finish(Outcome.LOGIN_OK, "prompt '#' reached", identity={"hostname": name})
    case.close({"targets": targets})
    return root, env, client.recipient


def measure(argv: list[str], env: dict[str, str]) -> tuple[float, int, float]:
    """(seconds, peak RSS in MiB, CPU seconds) of the process and its reaped children. CPU time is
    what to compare on a shared machine: wall time there depends on the neighbours' load."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"failed ({code}): {' '.join(argv)}\n{err}")
    return elapsed, usage.ru_maxrss // 1024, usage.ru_utime + usage.ru_stime


def parts(case: Path, env: dict[str, str], inventory: Path) -> dict[str, float]:
    """The handover's own work, timed alone in this process (wall seconds; CPU for the checks)."""
    import resource

    from evidence_kit.case import commitments
    from evidence_kit.handover.credentials import SourceOptions, load_credentials
    from evidence_kit.handover.evidence import read_evidence
    from evidence_kit.handover.package import PackageContext, build_kdbx, new_passphrase

    evidence = read_evidence(case)
    commitments._cache.clear()  # as in a fresh process: every distinct secret costs its scrypt
    start, cpu0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    creds, _ = load_credentials(case, evidence, SourceOptions(inventory=inventory, environ=env))
    checked, cpu1 = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    checked_cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
    assert all(c.matches for c in creds)
    start = time.perf_counter()
    build_kdbx(creds, new_passphrase(), PackageContext(evidence.case_id, "Bench Client", "x.age", "0" * 64, "s"))
    kdbx = time.perf_counter() - start
    return {"credential checks (scrypt per distinct secret)": round(checked, 2),
            "  the same, CPU seconds": round(checked_cpu, 2), "KDBX 4 build": round(kdbx, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--transcript-kib", type=int, default=64, help="transcript size per target (KiB)")
    parser.add_argument("--repeat", type=int, default=2, help="interleaved runs per command; the best is kept")
    parser.add_argument("--no-pdf", action="store_true", help="skip the handover with the PDF letter")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ek-bench-handover-", dir=args.workdir))
    ek = [sys.executable, "-m", "evidence_kit"]
    try:
        start = time.perf_counter()
        case, secret_env, _ = make_case(work, args.targets, args.transcript_kib)
        payload = sum(p.stat().st_size for p in case.rglob("*") if p.is_file())
        print(f"case: {args.targets} targets, {payload / 1e6:.1f} MB, built in {time.perf_counter() - start:.1f} s",
              flush=True)
        subprocess.run([*ek, "keys", "generate", "--out", str(work / "msp")], check=True, capture_output=True)
        subprocess.run([*ek, "keys", "generate", "--out", str(work / "newprov")], check=True, capture_output=True)
        sign_key = str(work / "msp" / "signing-key.pem")
        newprov = (work / "newprov" / "age-recipient.txt").read_text().strip()
        env = {**os.environ, **secret_env, "TMPDIR": str(work)}
        runs: dict[str, tuple[list[str], Path]] = {
            "seal": ([*ek, "seal", str(case), "--sign-key", sign_key, "-o", str(work / "s.age")], work / "s.age"),
            "handover --no-pdf": ([*ek, "handover", str(case), "--to", f"New Provider={newprov}", "--sign-key",
                                   sign_key, "--inventory", str(work / "inventory.yaml"), "-o", str(work / "h1"),
                                   "--no-pdf"], work / "h1"),
        }
        if not args.no_pdf:
            runs["handover (PDF letter)"] = ([*ek, "handover", str(case), "--to", f"New Provider={newprov}",
                                              "--sign-key", sign_key, "--inventory", str(work / "inventory.yaml"),
                                              "-o", str(work / "h2")], work / "h2")
        best: dict[str, tuple[float, int, float]] = {}
        for rep in range(args.repeat):
            for name, (argv, out) in runs.items():
                if out.is_dir():
                    shutil.rmtree(out)
                out.unlink(missing_ok=True)
                out.with_name(out.name + ".receipt.json").unlink(missing_ok=True)
                seconds, rss, cpu = measure(argv, env)
                prev = best.get(name)
                best[name] = (min(seconds, prev[0]) if prev else seconds, max(rss, prev[1]) if prev else rss,
                              min(cpu, prev[2]) if prev else cpu)
                print(f"    run {rep + 1}: {name:<24} {seconds:7.2f} s  CPU {cpu:7.2f} s  peak RSS {rss:5d} MiB",
                      flush=True)
        split = parts(case, secret_env, work / "inventory.yaml")
        print(f"best of {args.repeat} (load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs):")
        results = {name: {"seconds": round(s, 2), "cpu_seconds": round(c, 2), "peak_rss_mib": rss}
                   for name, (s, rss, c) in best.items()}
        for name, r in results.items():
            print(f"  {name:<24} {r['seconds']:7.2f} s  CPU {r['cpu_seconds']:7.2f} s  "
                  f"peak RSS {r['peak_rss_mib']:5d} MiB")
        ratios = {name: {"wall": round(r["seconds"] / results["seal"]["seconds"], 2),
                         "cpu": round(r["cpu_seconds"] / results["seal"]["cpu_seconds"], 2)}
                  for name, r in results.items() if name != "seal"}
        for name, value in ratios.items():
            print(f"  {name} / seal: {value['wall']:.2f}x the time, {value['cpu']:.2f}x the CPU")
        print("parts of a handover, alone (in this process):")
        for name, seconds in split.items():
            print(f"  {name:<48} {seconds:7.2f} s")
        if args.json:
            args.json.write_text(json.dumps({"targets": args.targets, "payload_bytes": payload, "results": results,
                                             "ratios_to_seal": ratios, "parts": split}, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
