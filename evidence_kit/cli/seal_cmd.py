"""``seal``, ``verify``, ``extract``. Thin: parse, call the core (evidence_kit.seal), print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from evidence_kit.cli.history_cmd import chain_options, verify_chain_command
from evidence_kit.cli.options import (
    archive_options,
    consequences,
    env_value,
    json_option,
    read_passphrase,
    typed_secret,
    verify_options,
)
from evidence_kit.cli.ui import print_verification
from evidence_kit.errors import UsageError

NOT_VERIFIED = "verification stopped on an unexpected problem: the archive is NOT verified"


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
@json_option
def seal(case_dir: Path, recipients: tuple[str, ...], ask_passphrase: bool, passphrase_env: str | None,
         sign_key: Path, tsa_urls: tuple[str, ...], tsa_cas: tuple[Path, ...], ignore_case_recipients: bool,
         scrypt_work_factor: int, output: Path, as_json: bool) -> Any:
    """Seal CASE into a signed, time-stamped, age-encrypted BagIt archive, plus a public receipt."""
    from evidence_kit.seal.seal import SealOptions
    from evidence_kit.seal.seal import seal as do_seal
    from evidence_kit.seal.timestamp import load_roots

    passphrase = read_passphrase(ask_passphrase, passphrase_env, confirm=True)
    result = do_seal(SealOptions(
        case_dir=case_dir, output=output, sign_key=sign_key, recipients=list(recipients), passphrase=passphrase,
        tsa_urls=list(tsa_urls), tsa_roots=load_roots(list(tsa_cas)), scrypt_log_n=scrypt_work_factor,
        ignore_case_recipients=ignore_case_recipients,
    ))
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return None
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
    return None


@click.command()
@click.argument("archive", type=click.Path(path_type=Path), required=False)
@archive_options
@chain_options
@click.option("--check-credential", metavar="TARGET",
              help="Prompt for a secret and say whether it is the one tested on TARGET.")
@click.option("--credential-field", metavar="FIELD", help="With --check-credential: which field (e.g. password).")
@click.option("--credential-env", metavar="NAME", help="With --check-credential: read the secret from this variable.")
@click.option("--against-package", type=click.Path(path_type=Path),
              help="A handover's credential package: is each delivered credential the one tested? (docs/handover.md)")
@click.option("--transmittal", type=click.Path(path_type=Path),
              help="A handover's transmittal.json to check, with its acknowledgments (default: one beside ARCHIVE).")
@consequences(unexpected=NOT_VERIFIED)
def verify(archive: Path | None, as_json: bool, check_credential: str | None, credential_field: str | None,
           credential_env: str | None, against_package: Path | None, transmittal: Path | None,
           chain: Path | None, chain_case: Path | None, **archive_opts: Any) -> Any:
    """Re-check everything in ARCHIVE (or, with --chain, a folder of runs as one history).

    Exit 0 all passed, 1 a check failed, 2 usage or wrong key.
    """
    from evidence_kit.handover.check import verify_handover
    from evidence_kit.seal.verify import CredentialQuery

    if chain is not None or chain_case is not None:
        return verify_chain_command(chain, archive, chain_case, as_json, archive_opts)
    if archive is None:
        raise UsageError("give ARCHIVE, or --chain ARCHIVE_DIR")
    options = verify_options(archive, **archive_opts)
    if check_credential:
        secret = (env_value("--credential-env", credential_env) if credential_env
                  else typed_secret(f"Secret tested on {check_credential}"))
        options.credential = CredentialQuery(check_credential, secret, credential_field)
    elif credential_field or credential_env:
        raise UsageError("--credential-field / --credential-env need --check-credential TARGET")
    report = verify_handover(options, against_package, transmittal)
    print_verification(report, as_json)
    return report


@click.command()
@click.argument("archive", type=click.Path(path_type=Path))
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path),
              help="Folder to extract into (must not exist, or be empty).")
@archive_options
@consequences(unexpected=NOT_VERIFIED)
def extract(archive: Path, output: Path, as_json: bool, **archive_opts: Any) -> Any:
    """Extract ARCHIVE's bag into a new folder, safely, and check it as verify does."""
    from evidence_kit.seal.verify import extract as do_extract

    options = verify_options(archive, **archive_opts)
    report = do_extract(options, output)
    print_verification(report, as_json)
    if not as_json:
        where = report.extracted_to or str(output)
        click.echo(f"extracted to {where}" if report.ok else f"extracted to {where}, but checks FAILED: "
                   "do not rely on it", err=not report.ok)
    return report
