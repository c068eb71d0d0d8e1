"""``capture``, ``run`` and ``demo``: thin wrappers over evidence_kit.capture and the demo."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from evidence_kit.cli.options import apply, env_value, has_terminal, json_option, profiles_option, typed_secret


def _pause(message: str) -> None:
    click.echo(message, err=True)
    click.prompt("Press Enter when done", default="", show_default=False, err=True)


_capture_options = apply([
        click.argument("inventory", type=click.Path(path_type=Path)),
        # readable=False: a folder we may not read is the machine's condition, said by the case in
        # one line (permission denied, the path), not Click's three-line usage error.
        click.option("--case", "case_dir", type=click.Path(path_type=Path, readable=False),
                     help="Case folder (created, or appended to). Default: cases/<client>-<date>."),
        click.option("--only", multiple=True, metavar="NAME", help="Capture only this target (repeatable)."),
        click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True,
                     help="Targets captured in parallel."),
        click.option("--headed", is_flag=True, help="Visible browser; manual steps pause for the technician."),
        click.option("--browser", "browser_path", type=click.Path(path_type=Path), envvar="EVIDENCE_KIT_BROWSER",
                     help="Chromium executable (default: Playwright's, else the system's)."),
        profiles_option,
        json_option,
])


@dataclass
class _Prepared:
    inventory: Any
    case_root: Path
    resolver: Any
    options: Any
    only: list[str]


def _prepare(inventory: Path, case_dir: Path | None, only: tuple[str, ...], concurrency: int, headed: bool,
             browser_path: Path | None, profile_dirs: tuple[Path, ...], **_: Any) -> _Prepared:
    """What capture and run share: inventory, case folder, secret resolver, run options."""
    from evidence_kit.capture import default_case_dir
    from evidence_kit.drivers.base import RunOptions
    from evidence_kit.inventory import load_inventory
    from evidence_kit.profiles import ProfileRegistry
    from evidence_kit.secrets import SecretResolver

    inv = load_inventory(inventory, ProfileRegistry(list(profile_dirs)))
    terminal = has_terminal()
    resolver = SecretResolver(prompt=typed_secret if terminal else None, keepass=inv.keepass_source(),
                              base_dir=inventory.parent, sources=inv.case.sources)
    options = RunOptions(concurrency=concurrency, headed=headed,
                         browser_path=str(browser_path) if browser_path else None,
                         pause=_pause if terminal else None)
    inv.select(list(only))  # unknown --only names are bad input, before anything runs
    return _Prepared(inv, case_dir or default_case_dir(inv), resolver, options, list(only))


_checkpoint_options = apply([
    click.option("--checkpoint-timeout", type=click.FloatRange(0.5, 300), default=10.0, show_default=True,
                 help="Seconds a TSA may take for one capture checkpoint."),
    click.option("--junit", "junit_path", type=click.Path(path_type=Path),
                 help="Also write the run as a JUnit XML report (one testcase per target)."),
])


@click.command()
@_capture_options
@click.option("--tsa", "tsa_urls", multiple=True, metavar="URL",
              help="Time-stamp the journal at this RFC 3161 TSA as each target ends (repeatable).")
@click.option("--tsa-ca", "tsa_cas", multiple=True, type=click.Path(path_type=Path), help="Trusted TSA root(s).")
@_checkpoint_options
def capture(tsa_urls: tuple[str, ...], tsa_cas: tuple[Path, ...], checkpoint_timeout: float,
            junit_path: Path | None, **kwargs: Any) -> Any:
    """Log into every target of INVENTORY and record the evidence in a case folder.

    Exit 0 when every target ended login_ok, 1 when any did not, 2 for bad input.
    """
    from evidence_kit.capture import Progress, capture
    from evidence_kit.case.checkpoints import Checkpointer, CheckpointSettings
    from evidence_kit.cli.ui import CaptureProgress, print_json, print_summary
    from evidence_kit.schedule import junit
    from evidence_kit.seal.timestamp import load_roots

    roots = load_roots(list(tsa_cas))
    if junit_path is not None:
        junit.check_destination(junit_path)
    p = _prepare(**kwargs)
    checkpoints = Checkpointer(CheckpointSettings(list(tsa_urls), roots, checkpoint_timeout)) if tsa_urls else None
    with CaptureProgress(len(p.inventory.select(p.only)), quiet=kwargs["as_json"]) as bar:
        report = capture(p.inventory, p.case_root, p.resolver, p.options, p.only,
                         Progress(started=bar.started, finished=bar.finished), checkpoints=checkpoints)
    if junit_path is not None:
        junit.write(junit_path, junit.build(report))
    if kwargs["as_json"]:
        print_json(report.as_dict())
    else:
        print_summary(report)
    return report


@click.command("run")
@_capture_options
@click.option("--sign-key", required=True, type=click.Path(path_type=Path), help="Ed25519 signing key.")
@click.option("--recipient", "-r", "recipients", multiple=True,
              help="Extra age recipient (the inventory's case recipients are always included).")
@click.option("--passphrase-env", metavar="NAME", help="Encrypt to the passphrase in this environment variable.")
@click.option("--tsa", "tsa_urls", multiple=True, metavar="URL", help="RFC 3161 time-stamp authority (repeatable).")
@click.option("--tsa-ca", "tsa_cas", multiple=True, type=click.Path(path_type=Path), help="Trusted TSA root(s).")
@click.option("--archive-dir", type=click.Path(path_type=Path), default=Path("archives"), show_default=True,
              help="Where the sealed archive and its receipt are written (one folder per case: the history).")
@click.option("--alerts", "alerts_path", type=click.Path(path_type=Path),
              help="Alert settings file (replaces the inventory's alerts: block).")
@click.option("--no-alerts", is_flag=True, help="Send no alert, whatever the inventory says.")
@click.option("--no-checkpoints", is_flag=True,
              help="Do not time-stamp the journal as targets end (the seal is still time-stamped).")
@_checkpoint_options
def run(sign_key: Path, recipients: tuple[str, ...], passphrase_env: str | None, tsa_urls: tuple[str, ...],
        tsa_cas: tuple[Path, ...], archive_dir: Path, alerts_path: Path | None, no_alerts: bool,
        no_checkpoints: bool, checkpoint_timeout: float, junit_path: Path | None, **kwargs: Any) -> Any:
    """Capture INVENTORY, then seal the case: one command for cron, systemd timers and CI.

    Prints which credentials changed outcome since the last run and alerts the channels of the
    inventory's alerts: block (or --alerts FILE) on change. Each --tsa also time-stamps the
    journal as each target ends. Exit 0 when every target ended login_ok, 1 when any did not,
    2 for bad input.
    """
    from evidence_kit.capture import Progress
    from evidence_kit.case.checkpoints import CheckpointSettings
    from evidence_kit.cli.run_support import prepare_alerts, print_run_extras
    from evidence_kit.cli.ui import CaptureProgress, print_json, print_summary
    from evidence_kit.errors import UsageError
    from evidence_kit.pipeline import capture_and_seal
    from evidence_kit.schedule import junit
    from evidence_kit.seal.keys import load_signing_key
    from evidence_kit.seal.timestamp import load_roots

    passphrase = env_value("--passphrase-env", passphrase_env).encode("utf-8") if passphrase_env else None
    load_signing_key(sign_key)  # a bad key is bad input: refuse before capturing anything
    _archive_folder(archive_dir)  # so is a folder the archive cannot be written to
    roots = load_roots(list(tsa_cas))
    p = _prepare(**kwargs)
    if passphrase is None and not (recipients or p.inventory.case.recipients):
        raise UsageError("no recipient: list the client in the inventory's case.recipients, or give --recipient")
    if junit_path is not None:
        junit.check_destination(junit_path)
    channels, warnings = prepare_alerts(p, alerts_path, no_alerts)
    checkpoints = None if no_checkpoints else CheckpointSettings(list(tsa_urls), roots, checkpoint_timeout)
    with CaptureProgress(len(p.inventory.select(p.only)), quiet=kwargs["as_json"]) as bar:
        result = capture_and_seal(
            p.inventory, p.case_root, p.resolver, archive_dir, sign_key, list(recipients), passphrase,
            list(tsa_urls), roots, p.options, p.only, Progress(started=bar.started, finished=bar.finished),
            checkpoints=checkpoints, alerts=channels,
        )
    result.warnings[:0] = warnings
    if junit_path is not None:
        junit.write(junit_path, junit.build(result.capture, result.seal))
    if kwargs["as_json"]:
        print_json(result.as_dict())
    else:
        print_summary(result.capture)
        click.echo(f"sealed: {result.seal.archive} (sha256 {result.seal.sha256})")
        click.echo(f"receipt: {result.seal.receipt}")
    print_run_extras(result, quiet=kwargs["as_json"])
    return result


def _archive_folder(folder: Path) -> None:
    """Refuse, in the machine's words and before any capture, an archive folder that cannot be
    written (or made): read-only, forbidden. Nothing is created here."""
    import os

    from evidence_kit.errors import PermissionDeniedError, ReadOnlyFilesystemError

    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if os.access(existing, os.W_OK | os.X_OK):
        return
    refused = ReadOnlyFilesystemError if os.statvfs(existing).f_flag & os.ST_RDONLY else PermissionDeniedError
    raise refused(folder, "preparing the archive folder", "choose --archive-dir you can write to; nothing was captured")


@click.command()
@click.option("--dir", "workdir", type=click.Path(path_type=Path), default=Path("evidence-kit-demo"),
              show_default=True, help="Where the demo writes its keys, case, archive and report.")
@click.option("--no-web", is_flag=True, help="Skip the web part even if a browser is available.")
def demo(workdir: Path, no_web: bool) -> Any:
    """Run the whole flow on local demo targets: capture, seal, verify, report. No set-up."""
    from evidence_kit.demo import run_demo

    return run_demo(workdir, echo=click.echo, web=not no_web)
