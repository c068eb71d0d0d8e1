"""What the verification result and the sealed bag say, in the report's terms: the checks
table, the trusted times, the signer, ``bag-info.txt``, the seal time, and Appendix B's
standard-tool commands written with this archive's own file names.

Nothing is checked here: the :class:`~evidence_kit.seal.model.Verification` comes from
``verify``'s own code (``evidence_kit/seal/verify.py``); this module only reads it.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Iterable
from pathlib import Path

from evidence_kit.report.model import CheckRow, ToolCommand, TrustedTime
from evidence_kit.report.terminal import visible
from evidence_kit.seal.model import BAG_INFO, COMMITMENTS, SIGNATURE, SIGNED_FILE, SIGNER_PEM, Status, Verification

TIMESTAMP_CHECK = re.compile(r"timestamp (\d+)")

# Standard library only, as in docs/verify-without-evidence-kit.md: the journal's hash chain.
JOURNAL_SCRIPT = """import hashlib, json, sys
prev = "0" * 64
for n, line in enumerate(open(sys.argv[1], "rb"), 1):
    e = json.loads(line)
    body = {k: v for k, v in e.items() if k != "hash"}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False).encode()).hexdigest()
    assert e["seq"] == n and e["prev"] == prev and digest == e["hash"], f"chain broken at entry {n}"
    prev = e["hash"]
print(f"journal: {n} entries, chain intact, head {prev}")
"""


def parse_time(value: str) -> _dt.datetime | None:
    try:
        return _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


def check_rows(verification: Verification) -> list[CheckRow]:
    return [CheckRow(c.name, c.status.value, visible(c.detail)) for c in verification.checks]


def trusted_times(verification: Verification, sealed_local: str) -> list[TrustedTime]:
    """Every time-stamp that verified, with its offset from the signer's own seal time."""
    local = parse_time(sealed_local) if sealed_local else None
    trust = {c.name: c.status for c in verification.checks}
    out = []
    for c in verification.checks:
        m = TIMESTAMP_CHECK.fullmatch(c.name)
        if not m or c.status is not Status.PASSED:
            continue
        when = str(c.facts.get("time") or "")
        parsed = parse_time(when)
        offset = (parsed - local).total_seconds() if parsed and local else None
        out.append(TrustedTime(
            index=int(m.group(1)), file=str(c.facts.get("file") or ""), time=when,
            tsa=visible(str(c.facts.get("tsa") or "unnamed TSA")),
            trusted=trust.get(f"{c.name} trust") is Status.PASSED, offset_seconds=offset,
        ))
    return out


def signer_trusted(verification: Verification) -> bool | None:
    """True/False: the signer matched/did not match ``--trust-key``; None: not compared."""
    for c in verification.checks:
        if c.name == "signer":
            return {Status.PASSED: True, Status.FAILED: False}.get(c.status)
    return None


def tsr_names(verification: Verification) -> list[str]:
    return [str(c.facts.get("file")) for c in verification.checks
            if TIMESTAMP_CHECK.fullmatch(c.name) and c.facts.get("file")]


def bag_info(root: Path) -> list[tuple[str, str]]:
    """``bag-info.txt`` as (label, value) rows, continuation lines joined."""
    try:
        lines = (root / BAG_INFO).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    out: list[tuple[str, str]] = []
    for line in lines:
        if line[:1].isspace() and out:
            out[-1] = (out[-1][0], out[-1][1] + " " + line.strip())
        elif ":" in line:
            k, v = line.split(":", 1)
            out.append((visible(k.strip()), visible(v.strip())))
    return out


def commitment_derivation(root: Path) -> str:
    """How a credential commitment is computed, as the sealed ``commitments.json`` states it."""
    try:
        doc = json.loads((root / COMMITMENTS).read_bytes())
        return visible(str(doc.get("derivation") or "")) if isinstance(doc, dict) else ""
    except (OSError, ValueError):
        return ""


def receipt_sealed(receipt: Path | None, verification: Verification) -> str:
    """The signer's local seal time, from the receipt, when verify checked that receipt."""
    if receipt is None or not any(c.name == "receipt" and c.status is Status.PASSED for c in verification.checks):
        return ""
    try:
        return str(json.loads(receipt.read_bytes())["receipt"]["sealed"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def verify_commands(archive_name: str, case_id: str, tsr_files: Iterable[str], fingerprint: str | None,
                    archive_sha256: str, passphrase: bool = False) -> list[ToolCommand]:
    """The standard-tool commands that re-check this archive, with its own file names."""
    bag = f"extracted/{case_id}"
    tar = f"{case_id}.tar"
    cmds = [
        ToolCommand("The archive is the one sealed (compare with the receipt and this report).",
                    ["sha256sum", archive_name], archive_sha256),
        ToolCommand("Decrypt (age). With a passphrase archive, leave out -i: age asks for it."
                    if not passphrase else "Decrypt (age); age asks for the passphrase.",
                    ["age", "-d", "-o", tar, archive_name] if passphrase else
                    ["age", "-d", "-i", "YOUR-AGE-IDENTITY.txt", "-o", tar, archive_name]),
        ToolCommand("Unpack the tar stream.", ["mkdir", "-p", "extracted"]),
        ToolCommand("", ["tar", "-xf", tar, "-C", "extracted"]),
        ToolCommand("Check the BagIt bag: every file against the SHA-256 and SHA-512 manifests.",
                    ["bagit.py", "--validate", bag], "… is valid"),
        ToolCommand("The signer's fingerprint.",
                    ["sh", "-c", f"openssl pkey -pubin -in {bag}/{SIGNER_PEM} -outform DER | sha256sum"],
                    (fingerprint or "").removeprefix("SHA256:")),
        ToolCommand("The Ed25519 signature over the tag manifest (which lists every manifest).",
                    ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", f"{bag}/{SIGNER_PEM}", "-rawin",
                     "-in", f"{bag}/{SIGNED_FILE}", "-sigfile", f"{bag}/{SIGNATURE}"],
                    "Signature Verified Successfully"),
    ]
    for name in tsr_files:
        cmds.append(ToolCommand(f"Read the trusted time in {name}.",
                                ["openssl", "ts", "-reply", "-in", f"{bag}/{name}", "-text"], "Time stamp: …"))
        cmds.append(ToolCommand("Check that time-stamp against the TSA's root certificate.",
                                ["openssl", "ts", "-verify", "-in", f"{bag}/{name}", "-data", f"{bag}/{SIGNATURE}",
                                 "-CAfile", "TSA-ROOT.pem"], "Verification: OK"))
    return cmds
