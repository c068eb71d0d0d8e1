"""The thin Click layer. Parses, calls the core, prints. Nothing else imports it.

Command families live one module each (``capture``, ``keys``, ``seal``...), registered on
the group below. Exit codes are decided here and only here: a command returns its result
(anything with ``ok``) or None, and raises an :class:`~evidence_kit.errors.EvidenceKitError`
for bad input and the machine's conditions; :func:`exit_code` and :meth:`_Group.invoke` turn
those into 0/1/2 (and 128 + the signal for an interrupt: 130 Ctrl-C, 143 SIGTERM). Heavy
libraries are imported inside commands so ``--help`` stays fast.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import click

from evidence_kit import __version__, interrupts
from evidence_kit.cli.options import INTERRUPTED, UNEXPECTED
from evidence_kit.errors import EXIT_CHECK_FAILED, EXIT_OK, EvidenceKitError


def exit_code(result: Any) -> int:
    """0 when the command's result is good (or it returned nothing), 1 when a check or login failed."""
    if result is None:
        return EXIT_OK
    return EXIT_OK if bool(result.ok) else EXIT_CHECK_FAILED


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
        except EvidenceKitError as exc:
            click.echo(f"error: {exc.one_line()}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as exc:
            left = ctx.meta.get(INTERRUPTED, "what was captured so far is kept in the case folder")
            name = signal.Signals(interrupts.signal_of(exc)).name
            click.echo(f"error: interrupted by {name}; {left}", err=True)
            ctx.exit(interrupts.exit_code_of(exc))
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:
            # A bug, not bad input: still one line (set EVIDENCE_KIT_DEBUG=1 for the traceback).
            if os.environ.get("EVIDENCE_KIT_DEBUG"):
                raise
            message = " ".join(str(exc).split())[:300]
            consequence = ctx.meta.get(UNEXPECTED, "what was captured so far is kept")
            click.echo(f"error: internal error ({type(exc).__name__}: {message}); {consequence}; "
                       "set EVIDENCE_KIT_DEBUG=1 to see where", err=True)
            ctx.exit(EXIT_CHECK_FAILED)
        ctx.exit(exit_code(result))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evidence-kit")
def cli() -> None:
    """Prove, with sealed evidence, that handed-over credentials worked."""


def _register() -> None:
    from evidence_kit.cli import commands

    commands.register(cli)


_register()


def main() -> None:
    interrupts.install()  # SIGTERM ends a command exactly as Ctrl-C does (exit 143)
    cli.main(prog_name="evidence-kit")
