"""``capture``, ``run`` and ``demo``: thin wrappers over evidence_kit.capture and the demo."""

from __future__ import annotations

from pathlib import Path

import click

from evidence_kit.errors import EXIT_CHECK_FAILED, EXIT_OK


def _prompt_secret(label: str) -> str:
    return str(click.prompt(label.rstrip(": "), hide_input=True, err=True))


def _pause(message: str) -> None:
    click.echo(message, err=True)
    click.prompt("Press Enter when done", default="", show_default=False, err=True)


def _capture_options(func):
    options = [
        click.argument("inventory", type=click.Path(path_type=Path)),
        click.option("--case", "case_dir", type=click.Path(path_type=Path),
                     help="Case folder (created, or appended to). Default: cases/<client>-<date>."),
        click.option("--only", multiple=True, metavar="NAME", help="Capture only this target (repeatable)."),
        click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True,
                     help="Targets captured in parallel."),
        click.option("--headed", is_flag=True, help="Visible browser; manual steps pause for the technician."),
        click.option("--browser", "browser_path", type=click.Path(path_type=Path), envvar="EVIDENCE_KIT_BROWSER",
                     help="Chromium executable (default: Playwright's, else the system's)."),
        click.option("--profiles", "profile_dirs", multiple=True, type=click.Path(path_type=Path),
                     help="Extra folder of profiles (repeatable; also EVIDENCE_KIT_PROFILES)."),
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _do_capture(inventory: Path, case_dir: Path | None, only: tuple[str, ...], concurrency: int, headed: bool,
                browser_path: Path | None, profile_dirs: tuple[Path, ...], as_json: bool):
    from evidence_kit.capture import Progress, capture, default_case_dir, previous_outcomes
    from evidence_kit.cli.ui import CaptureProgress
    from evidence_kit.drivers.base import RunOptions
    from evidence_kit.inventory import load_inventory
    from evidence_kit.profiles import ProfileRegistry
    from evidence_kit.secrets import SecretResolver

    registry = ProfileRegistry(list(profile_dirs))
    inv = load_inventory(inventory, registry)
    case_root = case_dir or default_case_dir(inv)
    before = previous_outcomes(case_root)
    resolver = SecretResolver(prompt=_prompt_secret, keepass=inv.keepass_source(), base_dir=inventory.parent)
    options = RunOptions(concurrency=concurrency, headed=headed,
                         browser_path=str(browser_path) if browser_path else None, pause=_pause)
    with CaptureProgress(len(inv.select(list(only))), quiet=as_json) as bar:
        report = capture(inv, case_root, resolver, options, list(only),
                         Progress(started=bar.started, finished=bar.finished))
    changes = {r.name: (before.get(r.name), r.outcome.value) for r in report.results
               if before and before.get(r.name) != r.outcome.value}
    return report, changes


@click.command()
@_capture_options
def capture(**kwargs) -> None:
    """Log into every target of INVENTORY and record the evidence in a case folder.

    Exit 0 when every target ended login_ok, 1 when any did not, 2 for bad input.
    """
    from evidence_kit.cli.ui import print_json, print_summary

    as_json = kwargs["as_json"]
    report, changes = _do_capture(**kwargs)
    if as_json:
        data = report.as_dict()
        data["changed_since_last_run"] = {k: {"before": b, "now": n} for k, (b, n) in changes.items()}
        print_json(data)
    else:
        print_summary(report, changes)
    raise SystemExit(EXIT_OK if report.all_ok else EXIT_CHECK_FAILED)


@click.command()
@click.option("--dir", "workdir", type=click.Path(path_type=Path), default=Path("evidence-kit-demo"),
              show_default=True, help="Where the demo writes its keys, case, archive and report.")
@click.option("--no-web", is_flag=True, help="Skip the web part even if a browser is available.")
def demo(workdir: Path, no_web: bool) -> None:
    """Run the whole flow on local demo targets: capture, seal, verify, report. No set-up."""
    from evidence_kit.demo import run_demo

    result = run_demo(workdir, echo=click.echo, web=not no_web)
    raise SystemExit(EXIT_OK if result.ok else EXIT_CHECK_FAILED)
