"""Where the delivered credentials come from: the case's inventory, resolved again, checked.

The case holds only commitments, never values. So ``handover`` reads the inventory the case
was captured from (the last ``run_started`` entry names the file and its SHA-256), resolves
each target's secret references again exactly as capture does
(:func:`evidence_kit.capture.resolve_secrets`), and checks every value against the commitment
journaled for that target and field at its latest capture. A value that differs (the password
was changed since), a field never tested, or a tested field the inventory no longer names makes
the credential *unmatched*: it is refused, or with ``include_unmatched`` delivered and marked.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from evidence_kit.capture import resolve_secrets
from evidence_kit.case.artifacts import sha256_file
from evidence_kit.case.commitments import matches
from evidence_kit.errors import UsageError
from evidence_kit.handover.evidence import Evidence
from evidence_kit.handover.model import Credential, FieldCheck
from evidence_kit.inventory import Inventory, load_inventory
from evidence_kit.profiles import ProfileRegistry
from evidence_kit.redact import redact_logs
from evidence_kit.secrets import SecretResolver


@dataclass(frozen=True)
class SourceOptions:
    inventory: Path | None = None
    allow_changed_inventory: bool = False
    only: tuple[str, ...] = ()
    profile_dirs: tuple[Path, ...] = ()
    prompt: Callable[[str], str] | None = None
    environ: dict[str, str] | None = None


def choose_inventory(case_dir: Path, evidence: Evidence, given: Path | None, allow_changed: bool) -> Path:
    """The inventory file to read: ``given``, else the one the case recorded, if it still resolves
    (beside where the command runs, then beside the case folder) with the recorded SHA-256."""
    recorded, name = evidence.inventory_sha256, evidence.inventory_name
    if given is not None:
        if not Path(given).is_file():
            raise UsageError(f"--inventory {given}: no such file")
        digest = sha256_file(Path(given))[0]
        if recorded and digest != recorded and not allow_changed:
            raise UsageError(
                f"--inventory {given}: not the inventory the case was captured from (sha256 {digest[:16]}..., the "
                f"case's last run recorded {name or 'an inventory'} with sha256 {recorded[:16]}...); give that file, "
                "or --allow-changed-inventory (each credential is still checked against what was tested)")
        return Path(given)
    if not name:
        raise UsageError(f"{case_dir}: the case does not name the inventory it was captured from; give --inventory")
    candidates = [Path.cwd() / name, Path(case_dir).resolve().parent / name]
    for path in candidates:
        if path.is_file() and (not recorded or sha256_file(path)[0] == recorded):
            return path
    present = [p for p in candidates if p.is_file()]
    if present:
        raise UsageError(
            f"{present[0]}: changed since the case was captured from it (sha256 {sha256_file(present[0])[0][:16]}..., "
            f"recorded {str(recorded)[:16]}...); give --inventory FILE with --allow-changed-inventory to use it")
    raise UsageError(f"the case was captured from {name}, which is not found beside this folder or the case "
                     "folder; give --inventory FILE")


def load_credentials(case_dir: Path, evidence: Evidence, options: SourceOptions) -> tuple[list[Credential], Inventory]:
    """Resolve and check every selected target's credentials (values stay in ``Secret`` objects)."""
    path = choose_inventory(case_dir, evidence, options.inventory, options.allow_changed_inventory)
    inventory = load_inventory(path, ProfileRegistry(list(options.profile_dirs)))
    targets = inventory.select(list(options.only))
    resolver = SecretResolver(prompt=options.prompt, keepass=inventory.keepass_source(), base_dir=path.parent,
                              environ=options.environ, sources=inventory.case.sources)
    resolved = resolve_secrets(inventory, targets, resolver)
    for value in resolver.known_values():
        redact_logs(value)  # a library that logs (pykeepass, smtplib) must not reveal them
    params = evidence.params
    jobs: list[tuple[str, str, str, str]] = []  # (target, field, value, commitment)
    for target in targets:
        tested = evidence.targets.get(target.name)
        for field_name, secret in resolved[target.name].items():
            recorded = tested.commitments.get(field_name) if tested else None
            if recorded is not None:
                jobs.append((target.name, field_name, secret.reveal(), recorded))
    # scrypt releases the GIL: one check per core at a time (commitments.py bounds memory too).
    with ThreadPoolExecutor(max(1, os.cpu_count() or 1), thread_name_prefix="commitment") as pool:
        outcomes = list(pool.map(lambda job: matches(params, job[2], job[0], job[1], job[3]), jobs))
    verdict = {(job[0], job[1]): ok for job, ok in zip(jobs, outcomes, strict=True)}
    credentials: list[Credential] = []
    for target in targets:
        tested = evidence.targets.get(target.name)
        profile = inventory.profile_of(target)
        secrets = resolved[target.name]
        checks = [FieldCheck(f, tested.commitments.get(f) if tested else None, verdict.get((target.name, f)))
                  for f in secrets]
        if tested is not None:
            checks += [FieldCheck(f, c, None, delivered=False) for f, c in tested.commitments.items()
                       if f not in secrets]
        credentials.append(Credential(
            target=target.name, kind=profile.kind, profile=profile.name, address=target.address,
            username=target.username, url=target.url or getattr(profile, "default_url", None),
            secrets=dict(secrets), checks=checks,
            outcome=tested.outcome if tested else None, tested_at=tested.tested_at if tested else None,
            run=tested.run if tested else None,
        ))
    return credentials, inventory


def refusal(unmatched: list[Credential]) -> str:
    """One line naming each credential that is not the one tested, and the ways out."""
    named = "; ".join(f"target '{c.target}' {', '.join(c.problems())}" for c in unmatched)
    return (f"{len(unmatched)} credential(s) are not the ones tested, so they cannot be handed over as tested: "
            f"{named}. Capture them again, leave them out with --only, or deliver them marked as unmatched with "
            "--include-unmatched")
