"""``handover`` and ``acknowledge``. Thin: parse, call the core (evidence_kit.handover), print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from evidence_kit.cli.options import apply, consequences, has_terminal, json_option, profiles_option, typed_secret

_mail_options = apply([
    click.option("--mail", "send_mail", is_flag=True,
                 help="Also send the transmittal by SMTP to --mail-to, the client (--client-email) always copied."),
    click.option("--mail-from", metavar="ADDRESS", help="The provider's sending address."),
    click.option("--mail-to", multiple=True, metavar="ADDRESS",
                 help="Address of the authorized recipient (repeatable)."),
    click.option("--client-email", multiple=True, metavar="ADDRESS",
                 help="The client's address (repeatable): always Cc, and the mail is refused without it."),
    click.option("--mail-encrypted", is_flag=True,
                 help="Attach the evidence archive and the credential package too (both age-encrypted)."),
    click.option("--smtp-host", metavar="HOST", help="SMTP server."),
    click.option("--smtp-port", type=click.IntRange(1, 65535), help="Default 587 (starttls), 465 (tls), 25 (plain)."),
    click.option("--smtp-security", type=click.Choice(["starttls", "tls", "plain"]), default="starttls",
                 show_default=True, help="plain only for a local relay, and never with a password."),
    click.option("--smtp-user", metavar="USER", help="SMTP login."),
    click.option("--smtp-password", metavar="REF",
                 help="Secret reference for the SMTP password: env:NAME, file:PATH, prompt, keepass:GROUP/TITLE."),
    click.option("--smtp-ca", type=click.Path(path_type=Path), help="PEM file of CA certificates to trust."),
    click.option("--smtp-pin", metavar="SHA256", help="The server certificate's SHA-256 (replaces chain checks)."),
    click.option("--smtp-server-name", metavar="NAME", help="Name to expect in the server's certificate."),
])


def _mail(send_mail: bool, mail_from: str | None, mail_to: tuple[str, ...], client_email: tuple[str, ...],
          mail_encrypted: bool, smtp_host: str | None, smtp_port: int | None, smtp_security: str,
          smtp_user: str | None, smtp_password: str | None, smtp_ca: Path | None, smtp_pin: str | None,
          smtp_server_name: str | None) -> Any:
    from evidence_kit.errors import UsageError
    from evidence_kit.handover.mail import MailOptions
    from evidence_kit.secrets import parse_secret_ref

    if not send_mail:
        if mail_to or client_email or smtp_host or mail_from:
            raise UsageError("the --mail-*/--smtp-* options need --mail")
        return None
    if not smtp_host or not mail_from:
        raise UsageError("--mail needs --smtp-host and --mail-from")
    try:
        ref = parse_secret_ref(smtp_password) if smtp_password else None
    except ValueError as exc:
        raise UsageError(f"--smtp-password: {exc}")
    return MailOptions(sender=mail_from, to=tuple(mail_to), client=tuple(client_email), host=smtp_host,
                       port=smtp_port, security=smtp_security, username=smtp_user, password=ref, cafile=smtp_ca,
                       pin_sha256=smtp_pin, server_name=smtp_server_name, attach_encrypted=mail_encrypted)


@click.command()
@click.argument("case_dir", metavar="CASE", type=click.Path(path_type=Path))
@click.option("--to", "to", multiple=True, metavar="NAME=RECIPIENT", required=True,
              help="Who receives the handover besides the client, named: 'New Provider=age1...' (an age or SSH "
                   "recipient, or a file of them; repeatable). The case's client recipients are always added.")
@click.option("--sign-key", required=True, type=click.Path(path_type=Path), help="Ed25519 signing key (as for seal).")
@click.option("--tsa", "tsa_urls", multiple=True, metavar="URL", help="RFC 3161 time-stamp authority (repeatable).")
@click.option("--tsa-ca", "tsa_cas", multiple=True, type=click.Path(path_type=Path),
              help="Check each time-stamp against these TSA roots before keeping it.")
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path),
              help="Folder to write the handover into (must not exist, or be empty).")
@click.option("--inventory", type=click.Path(path_type=Path),
              help="Inventory to resolve the credentials from (default: the one the case was captured from).")
@click.option("--allow-changed-inventory", is_flag=True,
              help="Accept an inventory other than the one recorded (each credential is still checked).")
@click.option("--only", multiple=True, metavar="NAME", help="Hand over only this target (repeatable).")
@click.option("--include-unmatched", is_flag=True,
              help="Deliver credentials that are not the ones tested, marked as such (exit 1).")
@click.option("--client-recipient", "client_recipients", multiple=True, metavar="R",
              help="The client's age/SSH recipient, only for a case whose inventory listed none.")
@click.option("--no-pdf", is_flag=True, help="Write the letter as HTML only (no Chromium needed).")
@click.option("--paper", type=click.Choice(["A4", "Letter"], case_sensitive=False), default="A4", show_default=True)
@click.option("--browser", metavar="PATH", help="Chromium executable for the PDF.")
@_mail_options
@profiles_option
@json_option
@consequences(unexpected="nothing was handed over unless the folder named by -o exists",
              interrupted="nothing was handed over (the folder named by -o was not made)")
def handover(case_dir: Path, to: tuple[str, ...], sign_key: Path, tsa_urls: tuple[str, ...],
             tsa_cas: tuple[Path, ...], output: Path, inventory: Path | None, allow_changed_inventory: bool,
             only: tuple[str, ...], include_unmatched: bool, client_recipients: tuple[str, ...], no_pdf: bool,
             paper: str, browser: str | None, profile_dirs: tuple[Path, ...], as_json: bool, **mail_opts: Any) -> Any:
    """Hand CASE over: the sealed evidence, the credentials (KDBX inside age), a signed transmittal.

    Refused without the client's written authorization in the case, and for any credential that
    is not the one tested (unless --include-unmatched). Exit 0 done, 1 done with unmatched
    credentials included, 2 refused.
    """
    from evidence_kit.handover.credentials import SourceOptions
    from evidence_kit.handover.run import HandoverOptions, parse_to
    from evidence_kit.handover.run import handover as do_handover
    from evidence_kit.seal.timestamp import load_roots

    source = SourceOptions(inventory=inventory, allow_changed_inventory=allow_changed_inventory, only=only,
                           profile_dirs=profile_dirs, prompt=typed_secret if has_terminal() else None)
    result = do_handover(HandoverOptions(
        case_dir=case_dir, output=output, sign_key=sign_key, to=parse_to(list(to)), tsa_urls=list(tsa_urls),
        tsa_roots=load_roots(list(tsa_cas)), source=source, include_unmatched=include_unmatched,
        client_recipients=list(client_recipients), pdf=not no_pdf, paper=paper, browser=browser,
        mail=_mail(**mail_opts),
    ))
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return result
    click.echo(f"handed over case {result.case_id} into {result.output} ({result.transmittal_id})")
    for r in result.recipients:
        click.echo(f"  to {r.name} ({r.role}): {r.kind} {r.fingerprint}")
    for c in result.credentials:
        state = "delivered = tested" if c.matches else "NOT AS TESTED: " + "; ".join(c.problems())
        click.echo(f"  {c.target}: {c.outcome or 'never captured'}, {', '.join(c.secrets)}; {state}")
    for f in result.files:
        click.echo(f"  {f.name:<44} {f.sha256}  {f.role}")
    for stamp in result.timestamps:
        click.echo(f"  transmittal time-stamped {stamp['time']} by {stamp['tsa_name'] or stamp['tsa']}")
    if result.mail:
        click.echo(f"  mailed {result.mail['message_id']} to {', '.join(result.mail['accepted'])}: "
                   f"{result.mail['final_reply']['code']} {result.mail['final_reply']['text']}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    return result


@click.command()
@click.argument("transmittal_file", metavar="TRANSMITTAL", type=click.Path(path_type=Path))
@click.option("--sign-key", required=True, type=click.Path(path_type=Path),
              help="Your key: OpenSSH private key (signs as ssh-keygen -Y sign) or Ed25519 PEM (raw Ed25519).")
@click.option("--name", help="Who acknowledges (default: the recipient whose SSH key this is).")
@click.option("--remark", help="A remark added to the acknowledgment (e.g. what did not work).")
@click.option("--tsa", "tsa_urls", multiple=True, metavar="URL", help="Time-stamp the acknowledgment (repeatable).")
@click.option("--tsa-ca", "tsa_cas", multiple=True, type=click.Path(path_type=Path),
              help="TSA roots: the transmittal's time-stamps and yours are checked against them.")
@click.option("--output", "-o", type=click.Path(path_type=Path),
              help="Folder for the acknowledgment (default: acknowledgments/ beside the transmittal).")
@json_option
def acknowledge(transmittal_file: Path, sign_key: Path, name: str | None, remark: str | None,
                tsa_urls: tuple[str, ...], tsa_cas: tuple[Path, ...], output: Path | None, as_json: bool) -> Any:
    """Countersign TRANSMITTAL (transmittal.json, or the handover folder): receipt acknowledged."""
    from evidence_kit.handover.ack import acknowledge as do_acknowledge
    from evidence_kit.seal.timestamp import load_roots

    result = do_acknowledge(transmittal_file, sign_key, name=name, remark=remark, tsa_urls=list(tsa_urls),
                            roots=load_roots(list(tsa_cas)), out_dir=output)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return None
    click.echo(f"{result.name} acknowledged transmittal {result.transmittal_id} "
               f"(sha256 {result.transmittal_sha256}) with {result.key_kind} key {result.key_fingerprint}")
    for path in result.files:
        click.echo(f"  wrote {path}")
    for line in result.check_commands:
        click.echo(f"  check: {line}")
    return None
