"""Import of a 10,000-entry export vs a plain csv / json read of the same file.

Run:

    python benchmarks/bench_import.py                  # 10,000 entries, best of 3
    python benchmarks/bench_import.py --entries 2000 --rounds 1

Two exports of N entries each (one client; a realistic mix of routers, firewalls, servers over
ssh://, registrars, Microsoft 365, domain admins and entries no rule maps) are written once:
an IT Glue ``passwords.csv`` and a Bitwarden JSON export. Variants, each in its own child
process so its peak RSS (ru_maxrss) is its own:

  bare-csv     ``list(csv.DictReader(file))``: the floor for the CSV
  ours-csv     ``evidence-kit import`` of the CSV in-process (``run_import``): detect, parse,
               client selection, rules, target validation against the profile models, the
               inventory written
  bare-json    ``json.load(file)``: the floor for the JSON
  ours-json    the same import of the Bitwarden JSON
  ours-json-age  the JSON age-encrypted, decrypted in memory first
  diag-load    diagnostic: ``load_inventory`` of the inventory ours-json wrote (what every
               capture of it pays)

Printed: wall time (best of the rounds), peak RSS, and the peak of Python allocations during
the work alone (tracemalloc, in a second untimed pass: RSS is dominated by the imported
libraries), and the ratios ours/bare in the same run.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VARIANTS = ("bare-csv", "ours-csv", "bare-json", "ours-json", "ours-json-age", "diag-load")
# (title, url, category, username): cycled through to make N entries
KINDS = (
    ("Core router {n} (Cisco)", "ssh://10.{a}.{b}.1", "Network Device", "admin"),
    ("Edge firewall {n} pfSense", "https://10.{a}.{b}.254", "Firewall", "admin"),
    ("Server {n}", "ssh://srv{n}.contoso.example:22", "Server", "ops"),
    ("GoDaddy {n}", "https://www.godaddy.com/", "Registrar", "dns{n}@contoso.example"),
    ("Microsoft 365 admin {n}", "https://admin.microsoft.com/", "Cloud", "admin{n}@contoso.onmicrosoft.com"),
    ("Domain Admin {n}", "dc{n}.contoso.local", "Active Directory", "admin{n}@contoso.local"),
    ("MikroTik {n}", "10.{a}.{b}.3", "Router", "admin"),
    ("Printer {n}", "https://10.{a}.{b}.9", "Printer", "admin"),
    ("Switch {n}", "10.{a}.{b}.2", "Switch", "manager"),
    ("FortiGate {n}", "https://10.{a}.{b}.253:4443", "Firewall", "admin"),
)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rows(n: int) -> list[dict[str, str]]:
    out = []
    for i in range(n):
        title, url, category, user = KINDS[i % len(KINDS)]
        fmt = {"n": i, "a": (i // 250) % 250, "b": i % 250}
        out.append({"title": title.format(**fmt), "url": url.format(**fmt), "category": category,
                    "username": user.format(**fmt), "password": secrets.token_urlsafe(15),
                    "totp": secrets.token_hex(10).upper() if i % 3 == 0 else "",
                    "notes": "Rack 2, documented 2025-06-01; see ticket " + str(10000 + i)})
    return out


def write_exports(folder: Path, n: int) -> dict[str, str]:
    import pyrage
    from pyrage import x25519

    data = rows(n)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["id", "organization", "name", "password_category", "resource_type", "resource_id", "username",
                "password", "url", "notes", "archived", "otp_secret"])
    for i, r in enumerate(data):
        w.writerow([100000 + i, "Contoso Ltd", r["title"], r["category"], "Configuration", 5000 + i, r["username"],
                    r["password"], r["url"], r["notes"], "No", r["totp"]])
    (folder / "passwords.csv").write_text(buf.getvalue())
    items = [{"id": str(uuid.uuid4()), "organizationId": None, "folderId": None, "type": 1, "reprompt": 0,
              "name": r["title"], "notes": r["notes"], "favorite": False, "fields": [], "collectionIds": None,
              "login": {"uris": [{"match": None, "uri": r["url"]}], "username": r["username"],
                        "password": r["password"], "totp": r["totp"] or None, "fido2Credentials": []},
              "revisionDate": "2025-06-01T10:00:00.000Z", "creationDate": "2025-01-01T10:00:00.000Z",
              "deletedDate": None} for r in data]
    doc = json.dumps({"encrypted": False, "folders": [], "items": items})
    (folder / "bitwarden.json").write_text(doc)
    identity = x25519.Identity.generate()
    (folder / "identity.txt").write_text(f"{identity}\n")
    (folder / "bitwarden.json.age").write_bytes(pyrage.encrypt(doc.encode(), [identity.to_public()]))
    return {"csv": str(folder / "passwords.csv"), "json": str(folder / "bitwarden.json"),
            "age": str(folder / "bitwarden.json.age"), "identity": str(folder / "identity.txt"),
            "inventory": str(folder / "for-load.yaml")}


# --- children ----------------------------------------------------------------------------------


def child(variant: str, files: dict[str, str], rounds: int) -> dict:
    from evidence_kit.importers.run import ImportOptions, run_import
    from evidence_kit.inventory import load_inventory
    from evidence_kit.profiles import ProfileRegistry

    registry = ProfileRegistry(use_env=False)
    work = Path(tempfile.mkdtemp(prefix="ekt-bench-import-"))

    def once(k: int) -> object:
        if variant == "bare-csv":
            with open(files["csv"], newline="", encoding="utf-8") as f:
                return len(list(csv.DictReader(f)))
        if variant == "bare-json":
            with open(files["json"], encoding="utf-8") as f:
                return len(json.load(f)["items"])
        if variant == "diag-load":
            return len(load_inventory(Path(files["inventory"]), registry).targets)
        source = {"ours-csv": files["csv"], "ours-json": files["json"], "ours-json-age": files["age"]}[variant]
        out = Path(files["inventory"]) if variant == "ours-json" and k == 0 else work / f"inv{k}.yaml"
        result = run_import(ImportOptions(
            source=Path(source), output=out, identity=Path(files["identity"]) if variant == "ours-json-age" else None,
            provider="Bench", technician="Bench", force=True), registry)
        return result.as_dict()["mapped_total"]

    best = float("inf")
    got: object = None
    for k in range(rounds):
        start = time.perf_counter()
        got = once(k)
        best = min(best, time.perf_counter() - start)
    rss = _peak_rss_mib()
    tracemalloc.start()
    once(rounds)
    traced = tracemalloc.get_traced_memory()[1] / (1 << 20)
    tracemalloc.stop()
    return {"wall": best, "rss_mib": rss, "traced_mib": traced, "result": got}


def run_child(variant: str, files: dict[str, str], rounds: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", variant, "--rounds", str(rounds)],
                          input=json.dumps(files), capture_output=True, text=True, timeout=1800,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if proc.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="timed repetitions in each child (best is kept)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, json.loads(sys.stdin.read()), args.rounds)))
        return 0

    with tempfile.TemporaryDirectory(prefix="ekt-bench-import-") as tmp:
        files = write_exports(Path(tmp), args.entries)
        sizes = {k: Path(files[k]).stat().st_size / (1 << 20) for k in ("csv", "json", "age")}
        results = {v: run_child(v, files, args.rounds) for v in VARIANTS}

    print(f"Import benchmark: {args.entries} entries, one client; IT Glue CSV {sizes['csv']:.1f} MiB, "
          f"Bitwarden JSON {sizes['json']:.1f} MiB (age {sizes['age']:.1f} MiB); best of {args.rounds}")
    print(f"{'variant':<14} {'wall s':>8} {'per entry us':>13} {'peak RSS MiB':>13} {'traced MiB':>11}  result")
    for v in VARIANTS:
        r = results[v]
        print(f"{v:<14} {r['wall']:>8.3f} {1e6 * r['wall'] / args.entries:>13.1f} {r['rss_mib']:>13.1f} "
              f"{r['traced_mib']:>11.1f}  {r['result']}")

    def ratio(a: str, b: str, key: str) -> float:
        return results[a][key] / results[b][key]

    for ours, bare in (("ours-csv", "bare-csv"), ("ours-json", "bare-json")):
        print(f"ratio {ours}/{bare}: time {ratio(ours, bare, 'wall'):.1f}x, "
              f"peak RSS {ratio(ours, bare, 'rss_mib'):.1f}x, traced {ratio(ours, bare, 'traced_mib'):.1f}x")
    print(f"ours-json-age/ours-json = {ratio('ours-json-age', 'ours-json', 'wall'):.2f}x (in-memory decryption)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
