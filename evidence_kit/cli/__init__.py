"""The thin Click layer. Parses, calls the core, prints. Nothing else imports it.

Command families live one module each (``capture``, ``keys``, ``seal``...), registered on
the group below. Every :class:`~evidence_kit.errors.EvidenceKitError` becomes one line on
stderr and its exit code here, in one place; heavy libraries are imported inside commands
so ``--help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from evidence_kit import __version__
from evidence_kit.errors import EXIT_CHECK_FAILED, EXIT_USAGE, EvidenceKitError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EvidenceKitError as exc:
            click.echo(f"error: {exc.one_line()}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("error: interrupted; what was captured so far is kept in the case folder", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:
            # A bug, not bad input: still one line (set EVIDENCE_KIT_DEBUG=1 for the traceback).
            if os.environ.get("EVIDENCE_KIT_DEBUG"):
                raise
            message = " ".join(str(exc).split())[:300]
            click.echo(f"error: internal error ({type(exc).__name__}: {message}); what was captured so far is "
                       "kept; set EVIDENCE_KIT_DEBUG=1 to see where", err=True)
            ctx.exit(EXIT_CHECK_FAILED)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evidence-kit")
def cli() -> None:
    """Prove, with sealed evidence, that handed-over credentials worked."""


def _register() -> None:
    from evidence_kit.cli import commands

    commands.register(cli)


_register()


def main() -> None:
    try:
        cli.main(prog_name="evidence-kit", standalone_mode=True)
    except click.exceptions.Exit as exc:  # pragma: no cover - standalone_mode handles it
        sys.exit(exc.exit_code)
    except SystemExit as exc:
        # Click's own usage errors already exit 2; keep every other code as given.
        code = exc.code if isinstance(exc.code, int) else EXIT_USAGE
        sys.exit(code)
