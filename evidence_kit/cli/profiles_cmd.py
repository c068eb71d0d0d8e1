"""``profiles list | show NAME | lint FILE... | schema``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from evidence_kit.cli.options import json_option, profiles_option
from evidence_kit.errors import ProfileError

_dirs = profiles_option


@click.group()
def profiles() -> None:
    """Built-in and user profiles: how to log into each kind of target."""


@profiles.command("list")
@_dirs
@json_option
def list_(profile_dirs: tuple[Path, ...], as_json: bool) -> None:
    """List every profile visible to a run."""
    from evidence_kit.profiles import ProfileRegistry

    registry = ProfileRegistry(list(profile_dirs))
    rows: list[dict[str, Any]] = []
    for loaded in registry.all():
        p = loaded.profile
        rows.append({"name": p.name, "kind": p.kind, "vendor": p.vendor, "product": p.product,
                     "source": loaded.source, "builtin": loaded.builtin})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        builtin = "" if r["builtin"] else f"  ({r['source']})"
        click.echo(f"{r['name']:<{width}}  {r['kind']:<9}  {r['vendor']} {r['product']}".rstrip() + builtin)


@profiles.command()
@_dirs
@click.argument("name")
def show(profile_dirs: tuple[Path, ...], name: str) -> None:
    """Print one profile (as YAML) with where it comes from."""
    import yaml

    from evidence_kit.profiles import ProfileRegistry

    loaded = ProfileRegistry(list(profile_dirs)).get(name)
    click.echo(f"# source: {loaded.source}")
    click.echo(yaml.safe_dump(loaded.profile.model_dump(mode="json", exclude_defaults=False), sort_keys=False,
                              allow_unicode=True).rstrip())


@profiles.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def lint(files: tuple[Path, ...]) -> None:
    """Check profile files; one line per file. Exit 2 if any is invalid."""
    from evidence_kit.profiles import lint as lint_files

    results = lint_files(list(files))
    for r in results:
        click.echo(r.message if r.ok else f"error: {r.message}", err=not r.ok)
    bad = [r for r in results if not r.ok]
    if bad:
        raise ProfileError(bad[0].file if len(bad) == 1 else f"{len(bad)} of {len(results)} files",
                           "not a valid profile (see above)")


@profiles.command()
def schema() -> None:
    """Print the JSON Schema of the profile format (for editors)."""
    from evidence_kit.profiles import json_schema

    click.echo(json.dumps(json_schema(), indent=2))
