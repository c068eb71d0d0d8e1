"""Creating a case: complete or absent, never a case without a beginning.

Everything a new case starts with — the authorization letter's copy, the journal with its
``case_created`` (and ``authorization_attached``) entry, and case.json — is written and fsync'd
under hidden temporary names first, then renamed into place: the journal, the authorization
folder, and case.json last. Renaming case.json is the commit point: a case folder is a case
exactly when case.json is there, and by then its journal is complete.

Faults leave one of two states. When the machine refuses a step (disk full, read-only,
permission denied), everything written so far is removed and the machine's condition is
raised: the folder is as it was. When the process is killed part-way, hidden leftovers stay;
the next capture into the folder removes them and starts afresh, or — killed between the
renames, with the journal already in place — completes the commit (:func:`resume_creation`).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence_kit.case import diskio
from evidence_kit.case.artifacts import sha256_file
from evidence_kit.case.commitments import CommitmentParams
from evidence_kit.case.journal import GENESIS, JOURNAL_NAME, Journal, JournalCheck, read_entries, utc_now
from evidence_kit.case.session import slug
from evidence_kit.errors import MachineError

if TYPE_CHECKING:
    from evidence_kit.case.case import CaseDetails

CASE_FILE = "case.json"
AUTHORIZATION_DIR = "authorization"
CASE_TMP = ".case.json.partial"
JOURNAL_TMP = ".journal.jsonl.partial"
AUTHORIZATION_TMP = ".authorization.partial"
LEFTOVERS = (CASE_TMP, JOURNAL_TMP, AUTHORIZATION_TMP)
WAY_OUT = "free space (or choose a folder you can write to), then run capture again: nothing was kept"


def create_case(root: Path, details: CaseDetails, run_facts: dict[str, Any], case_id: str,
                case_format: str) -> tuple[dict[str, Any], Journal]:
    """Write a new case into the (empty) folder ``root``; returns its info and open journal."""
    remove_leftovers(root)
    journal: Journal | None = None
    doing = "creating the case"
    try:
        info = _case_info(details, run_facts, case_id, case_format)
        if details.authorization is not None:
            info["authorization"] = _copy_authorization(root, details.authorization)
        diskio.write_file(root / CASE_TMP, json.dumps(info, indent=2, sort_keys=True).encode() + b"\n")
        digest, size = sha256_file(root / CASE_TMP)
        journal = Journal.open(root / JOURNAL_TMP, run=1, check=JournalCheck(True, 0, GENESIS))
        journal.append("case_created", {"case_id": case_id, "format": case_format},
                       artifact={"path": CASE_FILE, "sha256": digest, "size": size})
        auth = info.get("authorization")
        if auth:
            journal.append("authorization_attached", {"original_name": auth["original_name"]},
                           artifact={"path": auth["path"], "sha256": auth["sha256"], "size": auth["size"]})
        doing = "committing the new case"
        _commit(root)
        journal.path = root / JOURNAL_NAME
    except (OSError, MachineError) as exc:
        _abandon(journal, root)
        cause = exc.__cause__ if isinstance(exc, MachineError) and isinstance(exc.__cause__, OSError) else exc
        if isinstance(cause, OSError):
            raise diskio.as_machine_error(cause, root, doing, WAY_OUT) from exc
        raise
    except BaseException:
        _abandon(journal, root)
        raise
    return info, journal


def resume_creation(root: Path) -> bool:
    """Finish a creation killed between its renames (journal in place, case.json not yet)."""
    journal, case_tmp = root / JOURNAL_NAME, root / CASE_TMP
    if (root / CASE_FILE).exists() or not (journal.exists() and case_tmp.exists()):
        return False
    try:
        first = next(read_entries(journal))
    except (StopIteration, ValueError):
        return False
    recorded = (first.get("artifact") or {}).get("sha256")
    if first.get("event") != "case_created" or recorded != sha256_file(case_tmp)[0]:
        return False
    if (root / AUTHORIZATION_TMP).exists() and not (root / AUTHORIZATION_DIR).exists():
        os.rename(root / AUTHORIZATION_TMP, root / AUTHORIZATION_DIR)
    os.rename(case_tmp, root / CASE_FILE)
    diskio.fsync_path(root, directory=True)
    return True


def remove_leftovers(root: Path) -> None:
    """Remove the hidden files of a creation that did not finish (nothing of a case yet)."""
    for name in LEFTOVERS:
        path = root / name
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _commit(root: Path) -> None:
    # The journal first: from then on a kill leaves what resume_creation completes (renaming the
    # authorization first left a visible folder with no journal, which no later capture accepted).
    os.rename(root / JOURNAL_TMP, root / JOURNAL_NAME)
    if (root / AUTHORIZATION_TMP).exists():
        os.rename(root / AUTHORIZATION_TMP, root / AUTHORIZATION_DIR)
    os.rename(root / CASE_TMP, root / CASE_FILE)  # the commit point
    diskio.fsync_path(root, directory=True)


def _case_info(details: CaseDetails, run_facts: dict[str, Any], case_id: str, case_format: str) -> dict[str, Any]:
    return {
        "format": case_format,
        "case_id": case_id,
        "created": utc_now(),
        "client": details.client,
        "provider": details.provider,
        "technician": details.technician,
        "purpose": details.purpose,
        "recipients": list(details.recipients),
        "authorization": None,
        "capture_host": run_facts.get("host", {}),
        "tool": run_facts.get("tool", {}),
        "dependencies": run_facts.get("dependencies", {}),
        "clock": run_facts.get("clock", {}),
        "commitments": CommitmentParams.new().as_dict(),
    }


def _copy_authorization(root: Path, src: Path) -> dict[str, Any]:
    """Copy the written authorization into the (hidden, not yet committed) authorization folder."""
    folder = root / AUTHORIZATION_TMP
    folder.mkdir()
    name = slug(src.name)
    dest = folder / name
    with open(src, "rb") as fin:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            while block := fin.read(1 << 20):
                diskio.write_all(fd, block)
            os.fsync(fd)
        finally:
            os.close(fd)
    digest, size = sha256_file(dest)
    return {"original_name": src.name, "path": f"{AUTHORIZATION_DIR}/{name}", "sha256": digest, "size": size}


def _abandon(journal: Journal | None, root: Path) -> None:
    """Undo a creation the machine refused: the folder is left as it was found."""
    if journal is not None:
        try:
            journal.close()
        except OSError:
            pass
    if (root / CASE_FILE).exists():
        return  # committed after all (only the directory fsync failed): keep the case
    for name in (JOURNAL_NAME, AUTHORIZATION_DIR):
        path = root / name
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    remove_leftovers(root)
