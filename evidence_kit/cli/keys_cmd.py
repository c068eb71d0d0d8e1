"""``keys generate``: a new age identity and Ed25519 signing key. Thin: parse, call, print."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group()
def keys() -> None:
    """Make the keys that seal and verify use (standard-tool keys work too)."""


@keys.command("generate")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Folder for the key files (created; existing key files are never overwritten).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def generate(out: Path, as_json: bool) -> None:
    """Write an age identity (X25519) and an Ed25519 signing key, each with its public part.

    Files (mode 0600): age-identity.txt, age-recipient.txt, signing-key.pem, signing-public.pem.
    """
    from evidence_kit.seal.keys import generate as make

    made = make(out)
    if as_json:
        click.echo(json.dumps({"folder": str(made.folder), "recipient": made.recipient,
                               "signer_fingerprint": made.signer_fingerprint,
                               "files": [str(p) for p in made.files]}, indent=2))
        return
    click.echo(f"age recipient (give to whoever seals for you): {made.recipient}")
    click.echo(f"signer fingerprint (give to whoever verifies):  {made.signer_fingerprint}")
    for path in made.files:
        click.echo(f"  wrote {path}")
    click.echo("Keep age-identity.txt and signing-key.pem secret.")
