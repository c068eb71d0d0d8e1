"""``seal``, ``verify``, ``extract``. Thin: parse, call the core (evidence_kit.seal), print."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from evidence_kit.errors import EXIT_CHECK_FAILED, EXIT_OK, EvidenceKitError, UsageError


def _passphrase(ask: bool, env_name: str | None, confirm: bool) -> bytes | None:
    if ask and env_name:
        raise UsageError("give --passphrase or --passphrase-env, not both")
    if env_name:
        value = os.environ.get(env_name)
        if not value:
            raise UsageError(f"--passphrase-env {env_name}: the environment variable is not set or empty")
        return value.encode("utf-8")
    if ask:
        value = click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
        return str(value).encode("utf-8")
    return None


def _key_options(func: Any) -> Any:
    options = [
        click.option("--identity", "-i", "identities", multiple=True, type=click.Path(path_type=Path),
                     help="age identity file (age-keygen, keys generate) or SSH private key (repeatable)."),
        click.option("--passphrase", "ask_passphrase", is_flag=True, help="Prompt for the archive's passphrase."),
        click.option("--passphrase-env", metavar="NAME", help="Read the passphrase from this environment variable."),
        click.option("--trust-key", type=click.Path(path_type=Path),
                     help="The expected signer's public key (PEM or OpenSSH); a different signer fails."),
        click.option("--tsa-ca", "tsa_cas", multiple=True, type=click.Path(path_type=Path),
                     help="Trusted TSA root certificate(s), PEM or DER (repeatable)."),
        click.option("--receipt", type=click.Path(path_type=Path),
                     help="Receipt to check (default: ARCHIVE.receipt.json if present)."),
        click.option("--no-receipt", is_flag=True, help="Do not look for a receipt beside the archive."),
        click.option("--max-member-size", type=click.IntRange(1), default=None,
                     help="Refuse any file in the archive larger than this many bytes."),
        click.option("--json", "as_json", is_flag=True, help="Print the report as JSON."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _verify_options(archive: Path, identities: tuple[Path, ...], ask_passphrase: bool, passphrase_env: str | None,
                    trust_key: Path | None, tsa_cas: tuple[Path, ...], receipt: Path | None, no_receipt: bool,
                    max_member_size: int | None) -> Any:
    from evidence_kit.seal.keys import load_identities, load_public_key
    from evidence_kit.seal.timestamp import load_roots
    from evidence_kit.seal.verify import VerifyOptions

    passphrase = _passphrase(ask_passphrase, passphrase_env, confirm=False)
    if passphrase is not None and identities:
        raise UsageError("give --identity or --passphrase, not both")
    if passphrase is None and not identities:
        raise UsageError("give --identity FILE or --passphrase to open the archive")
    ids: list[Any] = []
    for path in identities:
        ids.extend(load_identities(path))
    return VerifyOptions(
        archive=archive, identities=ids, passphrase=passphrase,
        trust_key=load_public_key(trust_key) if trust_key else None,
        tsa_roots=load_roots(list(tsa_cas)), receipt=receipt, auto_receipt=not no_receipt,
        max_member=max_member_size,
    )


def _print_report(report: Any, as_json: bool) -> None:
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


def _guarded(call: Any) -> Any:
    """Whatever the bytes, no traceback: an unexpected failure is reported as a failed check run."""
    try:
        return call()
    except (EvidenceKitError, click.exceptions.Exit, click.ClickException, KeyboardInterrupt):
        raise
    except Exception as exc:
        click.echo(f"error: verification stopped on an unexpected problem ({type(exc).__name__}: "
                   f"{' '.join(str(exc).split())[:200]}); the archive is NOT verified", err=True)
        sys.exit(EXIT_CHECK_FAILED)


@click.command()
@click.argument("case_dir", metavar="CASE", type=click.Path(path_type=Path))
@click.option("--recipient", "-r", "recipients", multiple=True,
              help="age recipient: age1..., 'ssh-ed25519 ...', 'ssh-rsa ...', or a file of them (repeatable). "
                   "The case's own recipients are always added.")
@click.option("--passphrase", "ask_passphrase", is_flag=True, help="Encrypt to a passphrase (prompted twice).")
@click.option("--passphrase-env", metavar="NAME", help="Read the passphrase from this environment variable.")
@click.option("--sign-key", required=True, type=click.Path(path_type=Path),
              help="Ed25519 private key (PKCS#8 PEM from keys generate / openssl genpkey, or OpenSSH).")
@click.option("--tsa", "tsa_urls", multiple=True, metavar="URL", help="RFC 3161 time-stamp authority (repeatable).")
@click.option("--tsa-ca", "tsa_cas", multiple=True, type=click.Path(path_type=Path),
              help="Check each time-stamp against these TSA roots before keeping it.")
@click.option("--ignore-case-recipients", is_flag=True,
              help="Do not add the recipients listed in the case (needed for a passphrase-only archive).")
@click.option("--scrypt-work-factor", type=click.IntRange(10, 22), default=18, show_default=True, hidden=True,
              help="log2 of scrypt's N for passphrase archives (age's default is 18).")
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path), help="Archive to write (.age).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def seal(case_dir: Path, recipients: tuple[str, ...], ask_passphrase: bool, passphrase_env: str | None,
         sign_key: Path, tsa_urls: tuple[str, ...], tsa_cas: tuple[Path, ...], ignore_case_recipients: bool,
         scrypt_work_factor: int, output: Path, as_json: bool) -> None:
    """Seal CASE into a signed, time-stamped, age-encrypted BagIt archive, plus a public receipt."""
    from evidence_kit.seal.seal import SealOptions
    from evidence_kit.seal.seal import seal as do_seal
    from evidence_kit.seal.timestamp import load_roots

    passphrase = _passphrase(ask_passphrase, passphrase_env, confirm=True)
    result = do_seal(SealOptions(
        case_dir=case_dir, output=output, sign_key=sign_key, recipients=list(recipients), passphrase=passphrase,
        tsa_urls=list(tsa_urls), tsa_roots=load_roots(list(tsa_cas)), scrypt_log_n=scrypt_work_factor,
        ignore_case_recipients=ignore_case_recipients,
    ))
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    click.echo(f"sealed case {result.case_id}: {result.files} files, {result.payload_bytes} bytes")
    click.echo(f"  archive  {result.archive} ({result.size} bytes, sha256 {result.sha256})")
    click.echo(f"  receipt  {result.receipt}")
    click.echo(f"  signer   {result.signer_fingerprint}")
    click.echo("  encrypted to a passphrase (scrypt)" if result.passphrase else
               f"  encrypted to {len(result.recipients)} recipient(s): {', '.join(result.recipients)}")
    for stamp in result.timestamps:
        click.echo(f"  time-stamped {stamp['time']} by {stamp['tsa_name'] or stamp['tsa']}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)


@click.command()
@click.argument("archive", type=click.Path(path_type=Path))
@_key_options
@click.option("--check-credential", metavar="TARGET",
              help="Prompt for a secret and say whether it is the one tested on TARGET.")
@click.option("--credential-field", metavar="FIELD", help="With --check-credential: which field (e.g. password).")
@click.option("--credential-env", metavar="NAME", help="With --check-credential: read the secret from this variable.")
def verify(archive: Path, identities: tuple[Path, ...], ask_passphrase: bool, passphrase_env: str | None,
           trust_key: Path | None, tsa_cas: tuple[Path, ...], receipt: Path | None, no_receipt: bool,
           max_member_size: int | None, as_json: bool, check_credential: str | None, credential_field: str | None,
           credential_env: str | None) -> None:
    """Re-check everything in ARCHIVE. Exit 0 all passed, 1 a check failed, 2 usage or wrong key."""
    from evidence_kit.seal.verify import CredentialQuery
    from evidence_kit.seal.verify import verify as do_verify

    options = _verify_options(archive, identities, ask_passphrase, passphrase_env, trust_key, tsa_cas, receipt,
                              no_receipt, max_member_size)
    if check_credential:
        if credential_env:
            secret = os.environ.get(credential_env)
            if not secret:
                raise UsageError(f"--credential-env {credential_env}: the environment variable is not set or empty")
        else:
            secret = str(click.prompt(f"Secret tested on {check_credential}", hide_input=True, err=True))
        options.credential = CredentialQuery(check_credential, secret, credential_field)
    elif credential_field or credential_env:
        raise UsageError("--credential-field / --credential-env need --check-credential TARGET")
    report = _guarded(lambda: do_verify(options))
    _print_report(report, as_json)
    sys.exit(EXIT_OK if report.ok else EXIT_CHECK_FAILED)


@click.command()
@click.argument("archive", type=click.Path(path_type=Path))
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path),
              help="Folder to extract into (must not exist, or be empty).")
@_key_options
def extract(archive: Path, output: Path, identities: tuple[Path, ...], ask_passphrase: bool,
            passphrase_env: str | None, trust_key: Path | None, tsa_cas: tuple[Path, ...], receipt: Path | None,
            no_receipt: bool, max_member_size: int | None, as_json: bool) -> None:
    """Extract ARCHIVE's bag into a new folder, safely, and check it as verify does."""
    from evidence_kit.seal.verify import extract as do_extract

    options = _verify_options(archive, identities, ask_passphrase, passphrase_env, trust_key, tsa_cas, receipt,
                              no_receipt, max_member_size)
    report = _guarded(lambda: do_extract(options, output))
    _print_report(report, as_json)
    if not as_json:
        where = report.extracted_to or str(output)
        click.echo(f"extracted to {where}" if report.ok else f"extracted to {where}, but checks FAILED: "
                   "do not rely on it", err=not report.ok)
    sys.exit(EXIT_OK if report.ok else EXIT_CHECK_FAILED)
