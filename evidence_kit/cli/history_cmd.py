"""``history`` and ``verify --chain``: scheduled runs as one history. Thin: parse, call
evidence_kit.schedule (history.py, chain_verify.py), print."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import click

from evidence_kit.cli.options import apply, archive_options, consequences
from evidence_kit.errors import UsageError

chain_options = apply([
    click.option("--chain", type=click.Path(path_type=Path), metavar="ARCHIVE_DIR",
                 help="Check a folder of one case's run archives as one history (no ARCHIVE then)."),
    click.option("--case", "chain_case", type=click.Path(path_type=Path),
                 help="With --chain: the case folder, whose journal shows a deleted newest run too."),
])


def verify_chain_command(chain: Path | None, archive: Path | None, chain_case: Path | None, as_json: bool,
                         archive_opts: dict[str, Any]) -> Any:
    """``verify --chain DIR``: the receipts and archives as one history; with --identity (or a
    passphrase) each archive is verified in full as well."""
    from evidence_kit.cli.options import verify_options
    from evidence_kit.cli.ui import print_verification
    from evidence_kit.schedule.chain_verify import verify_chain
    from evidence_kit.seal.keys import load_public_key
    from evidence_kit.seal.model import Status
    from evidence_kit.seal.verify import verify

    if chain is None:
        raise UsageError("--case goes with --chain ARCHIVE_DIR")
    if archive is not None:
        raise UsageError("give ARCHIVE or --chain ARCHIVE_DIR, not both")
    trust = archive_opts.get("trust_key")
    report = verify_chain(chain, load_public_key(trust) if trust else None, case_root=chain_case)
    if archive_opts.get("identities") or archive_opts.get("ask_passphrase") or archive_opts.get("passphrase_env"):
        runs = [c for c in report.checks if c.facts.get("archive")]
        base = verify_options(chain, **archive_opts)  # read the key or passphrase once
        for check in runs:
            full = verify(dataclasses.replace(base, archive=chain / str(check.facts["archive"]), receipt=None))
            failed = [c.name for c in full.failed]
            report.add(f"{check.name} contents", Status.FAILED if failed else Status.PASSED,
                       f"{check.facts['archive']}: " + (f"FAILED: {', '.join(failed)}" if failed else
                                                        f"all {len(full.checks)} checks of verify pass"))
    print_verification(report, as_json)
    return report


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table()
        for col in header:
            table.add_column(col, overflow="fold")
        for row in rows:
            table.add_row(*[f"[green]{c}[/]" if c == "ok" else (c if c == "-" else f"[bold red]{c}[/]") for c in row])
        Console().print(table)
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    for line in [header, *rows]:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())


@click.command()
@click.argument("source", metavar="CASE_OR_ARCHIVE_DIR", type=click.Path(path_type=Path))
@archive_options
@click.option("--csv", "as_csv", is_flag=True, help="One row per target and run, as CSV.")
@click.option("--last", type=click.IntRange(0), default=10, show_default=True,
              help="Runs shown in the table (0: all); --json and --csv always hold every run.")
@consequences(unexpected="the history could not be read; nothing was changed")
def history(source: Path, as_json: bool, as_csv: bool, last: int, **archive_opts: Any) -> Any:
    """Each target's outcome over time, from a case folder or from a folder of sealed runs.

    A folder of sealed runs is verified as one history first and read from its newest archive
    (give --identity or --passphrase). Exit 0, 1 when that verification failed, 2 bad input.
    """
    from evidence_kit.cli.options import verify_options
    from evidence_kit.schedule.history import from_archive_dir, from_case

    if as_json and as_csv:
        raise UsageError("give --json or --csv, not both")
    if not source.is_dir():
        raise UsageError(f"{source}: not a folder (give a case folder or a folder of sealed runs)")
    if (source / "case.json").is_file():
        view = from_case(source)
    else:
        if not any(source.glob("*.receipt.json")):
            raise UsageError(f"{source}: neither a case folder (no case.json) nor a folder of sealed runs "
                             "(no *.receipt.json)")
        view = from_archive_dir(source, verify_options(source, **archive_opts))
    if as_json:
        click.echo(view.to_json())
    elif as_csv:
        click.echo(view.to_csv(), nl=False)
    else:
        click.echo(f"case {view.case_id} ({view.client}): {len(view.targets)} target(s), {len(view.runs)} run(s)")
        header, rows = view.table(last)
        _print_table(header, rows)
        if view.verification is not None:
            click.echo("history and newest archive verified" if view.verification.ok else
                       "VERIFICATION FAILED: " + "; ".join(c.detail for c in view.verification.failed)[:500])
    return view
