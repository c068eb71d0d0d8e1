"""``import``: an inventory from an MSP documentation tool's export. Thin: parse, call, print.

The core is evidence_kit/importers/run.py; formats, rules and the reference syntax are in
docs/import.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from evidence_kit.cli.options import has_terminal, json_option, profiles_option, typed_secret

IDENTITY_ENV = "EVIDENCE_KIT_SOURCE_IDENTITY"  # the same name as importers/registry.py's


@click.command("import")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="The inventory to write.")
@click.option("--format", "fmt", metavar="FORMAT",
              help="itglue_csv, hudu_json, passportal_csv, bitwarden_json, bitwarden_csv, keepass_kdbx, "
                   "onepassword_1pux or keeper_json (default: detected from the file).")
@click.option("--client", metavar="NAME", help="Import only this organization / company / client.")
@click.option("--rules", type=click.Path(path_type=Path), help="Your rules, tried before the built-in ones.")
@click.option("--identity", "-i", type=click.Path(path_type=Path),
              help=f"age identity that opens an age-encrypted SOURCE (also {IDENTITY_ENV}); "
                   "written into the inventory so capture opens it the same way.")
@click.option("--source-password", metavar="REF",
              help="A KeePass database's master password as a secret reference (env:NAME, file:PATH, prompt); "
                   "the reference, not the password, goes into the inventory.")
@click.option("--keyfile", type=click.Path(path_type=Path), help="A KeePass database's key file.")
@click.option("--provider", metavar="NAME", help="case.provider: your company (who hands over).")
@click.option("--technician", metavar="NAME", help="case.technician (default: your user name).")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
@profiles_option
@json_option
def import_(source: Path, output: Path, fmt: str | None, client: str | None, rules: Path | None,
            identity: Path | None, source_password: str | None, keyfile: Path | None, provider: str | None,
            technician: str | None, force: bool, profile_dirs: tuple[Path, ...], as_json: bool) -> Any:
    """Write an inventory from SOURCE, an export of IT Glue, Hudu, Passportal, Bitwarden,
    KeePass, 1Password or Keeper. Secrets become references into SOURCE, never values.

    Entries no rule maps are written commented out, each with the reason. Exit 0 when at least
    one entry mapped, 1 when none did, 2 for bad input.
    """
    from evidence_kit.errors import UsageError
    from evidence_kit.importers.run import ImportOptions, run_import
    from evidence_kit.profiles import ProfileRegistry
    from evidence_kit.secrets import SecretResolver, parse_secret_ref

    password = None
    if source_password is not None:
        try:
            password = parse_secret_ref(source_password)
        except ValueError as exc:
            raise UsageError(f"--source-password: {exc}")
    from_env = identity is None and bool(os.environ.get(IDENTITY_ENV))
    options = ImportOptions(
        source=source, output=output, format=fmt, client=client, rules=rules,
        identity=Path(os.environ[IDENTITY_ENV]) if from_env else identity, write_identity=not from_env,
        password=password, keyfile=keyfile, provider=provider, technician=technician, force=force,
    )
    resolver = SecretResolver(prompt=typed_secret if has_terminal() else None)
    result = run_import(options, ProfileRegistry(list(profile_dirs)), resolver)
    if as_json:
        from evidence_kit.cli.ui import print_json

        print_json(result.as_dict())
        return result
    mapped, review = sum(result.mapped.values()), sum(result.review.values())
    who = f", client '{result.client}'" if client else ""
    click.echo(f"{source}: {result.read} entries ({result.label}{who}): {mapped} mapped, {review} left for review"
               + (f", {result.other_clients} of other clients not imported" if result.other_clients else ""))
    for profile, count in sorted(result.mapped.items(), key=lambda kv: (-kv[1], kv[0])):
        click.echo(f"  {count:>5}  {profile}")
    for reason, count in sorted(result.review.items(), key=lambda kv: (-kv[1], kv[0])):
        click.echo(f"  {count:>5}  for review: {reason}")
    click.echo(f"wrote {output} (secrets as {result.scheme}:ID/FIELD references, never values)")
    if not mapped:
        click.echo("no entry mapped: complete one of the commented-out targets before capturing", err=True)
    return result


# cli/commands.py registers a family's commands by attribute name, and "import" is a keyword.
globals()["import"] = import_
