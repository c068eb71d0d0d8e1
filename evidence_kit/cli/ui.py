"""Terminal output shared by commands: progress while targets run, the outcome table after."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

import click

OUTCOME_STYLE = {
    "login_ok": "green", "login_limited": "yellow", "mfa_required": "yellow", "auth_failed": "red",
    "host_key_mismatch": "red", "certificate_mismatch": "red", "unreachable": "red", "timeout": "red",
    "error": "red",
}


def is_terminal() -> bool:
    return sys.stdout.isatty()


class CaptureProgress:
    """A rich progress bar on a terminal; one plain line per finished target otherwise.

    The bar starts with the first target, not before: secrets typed at ``prompt`` (asked before
    the first connection) and a refusal to ask them get the terminal to themselves.
    """

    def __init__(self, total: int, quiet: bool = False) -> None:
        self.total = total
        self.quiet = quiet
        self._lock = threading.Lock()
        self._done = 0
        self._live = False
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> CaptureProgress:
        self._live = is_terminal() and not self.quiet
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.stop()

    def _bar(self) -> Any:
        if self._progress is None and self._live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("[bold]capturing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.description}"), transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("", total=self.total)
        return self._progress

    def started(self, target: Any) -> None:
        with self._lock:
            bar = self._bar()
            if bar is not None:
                bar.update(self._task, description=str(target.name))

    def finished(self, result: Any) -> None:
        with self._lock:
            self._done += 1
            bar = self._bar()
            if bar is not None:
                bar.advance(self._task)
                bar.console.print(_line(result, markup=True))
            elif not self.quiet:
                click.echo(f"[{self._done}/{self.total}] {_line(result, markup=False)}")


def _line(result: Any, markup: bool) -> str:
    outcome = result.outcome.value
    text = f"{result.name}: {outcome}"
    if markup:
        from rich.markup import escape

        style = OUTCOME_STYLE.get(outcome, "white")
        return f"[{style}]{escape(result.name)}: {outcome}[/] [dim]{escape(result.detail)}[/]"
    return f"{text} - {result.detail}"


def print_summary(report: Any) -> None:
    """The table of outcomes at the end of a capture (rich on a terminal, plain otherwise)."""
    changes = report.changes
    rows = []
    for r in report.results:
        identity = r.identity.get("host_key") or r.identity.get("certificate_sha256") or r.identity.get("account", "")
        change = ""
        if changes and r.name in changes:
            before, _ = changes[r.name]
            change = f"was {before}" if before else "new"
        rows.append((r.name, r.kind, r.address, r.outcome.value, str(identity), change, r.detail))
    if is_terminal():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"case {report.case_id}", show_lines=False)
        for col in ("target", "kind", "address", "outcome", "identity", "since last run", "detail"):
            table.add_column(col, overflow="fold")
        for row in rows:
            style = OUTCOME_STYLE.get(row[3], "white")
            table.add_row(*row[:3], f"[{style}]{row[3]}[/]", *row[4:])
        Console().print(table)
    else:
        for row in rows:
            extra = f" ({row[5]})" if row[5] else ""
            click.echo(f"{row[0]}\t{row[1]}\t{row[2]}\t{row[3]}{extra}\t{row[6]}")
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(report.counts().items()))
    click.echo(f"case folder: {report.case_root}  ({counts})")


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def print_verification(report: Any, as_json: bool) -> None:
    """Verify's checks: a table on a terminal, one line each otherwise, or JSON."""
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    marks = {"passed": "PASS", "failed": "FAIL", "not checked": "----"}
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"evidence-kit verify: {report.archive}")
        table.add_column("check")
        table.add_column("result")
        table.add_column("detail", overflow="fold")
        colors = {"passed": "green", "failed": "bold red", "not checked": "yellow"}
        for c in report.checks:
            table.add_row(c.name, f"[{colors[c.status.value]}]{c.status.value}[/]", c.detail)
        console = Console()
        console.print(table)
        if report.signer_fingerprint:
            console.print(f"Signer: [bold]{report.signer_fingerprint}[/]")
        console.print("[bold green]ALL CHECKS PASSED[/]" if report.ok else "[bold red]VERIFICATION FAILED[/]")
    else:
        width = max((len(c.name) for c in report.checks), default=5)
        for c in report.checks:
            click.echo(f"{marks[c.status.value]}  {c.name:<{width}}  {c.detail}")
        if report.signer_fingerprint:
            click.echo(f"Signer: {report.signer_fingerprint}")
        click.echo("ALL CHECKS PASSED" if report.ok else
                   f"VERIFICATION FAILED: {', '.join(c.name for c in report.failed)}")
