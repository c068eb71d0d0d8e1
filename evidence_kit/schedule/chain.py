"""A chained history of scheduled runs: each run's receipt names the receipt before it.

Why: an MSP's nightly runs are only worth showing a customer if none can be quietly dropped,
swapped or slipped in. Each run's receipt (signed, RFC 3161 time-stamped; evidence_kit/seal/
receipt.py) carries a ``chain`` object::

    {"format": "evidence-kit-chain/1", "position": 3, "run": 5,
     "previous": {"receipt": "<name>.age.receipt.json", "receipt_sha256": "<hex of its bytes>",
                  "archive": "<name>.age", "archive_sha256": "<hex>", "position": 2}}

``position`` counts the archives of the history (1, 2, 3...); ``run`` is the case journal's run
number the archive was sealed after (a run whose seal failed is carried by the next archive, so
the two can differ). ``previous`` is null for the first. The hash is of the previous receipt
file as written, so ``sha256sum`` checks a link by hand.

Where "previous" comes from: the case journal's last ``run_sealed`` entry (evidence_kit/
schedule/record.py) -- so deleting the newest archive before the next run does not let that
run link past it -- or the newest chained receipt of the same case in the archive folder when
that one is further along (its journal entry could not be written). :mod:`.chain_verify`
checks a folder of them as one history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence_kit.case.artifacts import sha256_file
from evidence_kit.case.journal import JOURNAL_NAME, check_journal, read_entries
from evidence_kit.schedule.record import RUN_SEALED
from evidence_kit.seal.model import RECEIPT_FORMAT, RECEIPT_SUFFIX

CHAIN_FORMAT = "evidence-kit-chain/1"


@dataclass(frozen=True)
class Link:
    """The run a new archive follows: None fields for the first of a history."""

    receipt: str | None = None
    receipt_sha256: str | None = None
    archive: str | None = None
    archive_sha256: str | None = None
    position: int = 0
    source: str = "none"  # "journal", "folder" or "none": where it was found
    warning: str | None = None  # e.g. the journal names a receipt the folder no longer holds

    def chain_field(self, run: int) -> dict[str, Any]:
        previous = None if self.receipt is None else {
            "receipt": self.receipt, "receipt_sha256": self.receipt_sha256, "archive": self.archive,
            "archive_sha256": self.archive_sha256, "position": self.position,
        }
        return {"format": CHAIN_FORMAT, "position": self.position + 1, "run": run, "previous": previous}


def read_receipt(path: Path) -> dict[str, Any] | None:
    """The signed body of an evidence-kit receipt, or None when ``path`` is not one."""
    try:
        doc = json.loads(Path(path).read_bytes())
        body = doc["receipt"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(body, dict) or body.get("format") != RECEIPT_FORMAT:
        return None
    return body


def sealed_record(receipt_path: Path, body: dict[str, Any]) -> dict[str, Any]:
    """The ``run_sealed`` journal entry's data for a receipt just written."""
    chain = body.get("chain") or {}
    return {
        "archive": body["archive"]["name"], "archive_sha256": body["archive"]["sha256"],
        "archive_size": body["archive"]["size"], "receipt": Path(receipt_path).name,
        "receipt_sha256": sha256_file(receipt_path)[0], "position": chain.get("position"), "run": chain.get("run"),
        "previous_receipt_sha256": (chain.get("previous") or {}).get("receipt_sha256"),
        "journal_head": (body.get("bag") or {}).get("journal_head"), "sealed": body.get("sealed"),
    }


def previous_link(case_root: Path, archive_dir: Path, case_id: str) -> Link:
    """The run the next archive of ``case_id`` follows (see the module docstring).

    The journal's record and the folder's newest receipt normally agree. When they do not, the
    higher position wins: a folder behind the journal lost its newest run (linked to all the
    same, so verify shows it missing); a folder ahead of it holds a seal whose journal entry
    could not be written (a busy or full case), which is still the run before.
    """
    recorded = _from_journal(Path(case_root))
    found = _from_folder(Path(archive_dir), case_id)
    if recorded is not None and (found is None or int(recorded.get("position") or 0) >= found.position):
        name = str(recorded.get("receipt"))
        present = Path(archive_dir) / name
        warning = None
        if not present.is_file():
            warning = (f"the case journal names {name} as the last sealed run, but {archive_dir} does not hold it: "
                       "this run links to it all the same, so verify --chain will show it missing")
        elif sha256_file(present)[0] != recorded.get("receipt_sha256"):
            warning = (f"{present} is not the receipt the case journal recorded for the last sealed run: this run "
                       "links to the recorded one, so verify --chain will show it replaced")
        return Link(name, str(recorded.get("receipt_sha256")), str(recorded.get("archive")),
                    str(recorded.get("archive_sha256")), int(recorded.get("position") or 0), "journal", warning)
    return found or Link()


def _from_folder(folder: Path, case_id: str) -> Link | None:
    newest: tuple[int, Path, dict[str, Any]] | None = None
    for path in sorted(folder.glob(f"*{RECEIPT_SUFFIX}")) if folder.is_dir() else []:
        body = read_receipt(path)
        chain = (body or {}).get("chain")
        if body is None or body.get("case_id") != case_id or not isinstance(chain, dict):
            continue
        position = int(chain.get("position") or 0)
        if newest is None or position > newest[0]:
            newest = (position, path, body)
    if newest is None:
        return None
    position, path, body = newest
    return Link(path.name, sha256_file(path)[0], str(body["archive"]["name"]), str(body["archive"]["sha256"]),
                position, "folder")


def _from_journal(case_root: Path) -> dict[str, Any] | None:
    journal = case_root / JOURNAL_NAME
    if not journal.is_file() or not check_journal(journal).ok:
        return None
    last = None
    for entry in read_entries(journal):
        if entry.get("event") == RUN_SEALED and isinstance(entry.get("data"), dict) and entry["data"].get("position"):
            last = entry["data"]
    return last


def journal_seals(case_root: Path) -> list[dict[str, Any]]:
    """Every ``run_sealed`` record of a case, oldest first (what a history folder should hold)."""
    journal = Path(case_root) / JOURNAL_NAME
    if not journal.is_file():
        return []
    return [dict(e["data"]) for e in read_entries(journal)
            if e.get("event") == RUN_SEALED and isinstance(e.get("data"), dict) and e["data"].get("position")]
