"""Options and small readers that several commands share, defined once.

Reading a passphrase or a secret from the environment, the ``--json`` flag, extra profile
folders and the options that open an archive (identity, passphrase, trust key, TSA roots,
receipt) are the same wherever they appear; keeping them here keeps their words and checks
the same too.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from evidence_kit.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])


def apply(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    """Stack click options in the order they are listed (the first shows first in --help)."""

    def decorate(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")

profiles_option = click.option(
    "--profiles", "profile_dirs", multiple=True, type=click.Path(path_type=Path),
    help="Extra folder of profiles (repeatable; also EVIDENCE_KIT_PROFILES).",
)


def env_value(option: str, name: str) -> str:
    """The value of environment variable ``name`` given to ``option``; empty or unset is bad usage."""
    value = os.environ.get(name)
    if not value:
        raise UsageError(f"{option} {name}: the environment variable is not set or empty")
    return value


def read_passphrase(ask: bool, env_name: str | None, confirm: bool) -> bytes | None:
    """``--passphrase`` (typed, hidden) or ``--passphrase-env NAME``; None when neither is given."""
    if ask and env_name:
        raise UsageError("give --passphrase or --passphrase-env, not both")
    if env_name:
        return env_value("--passphrase-env", env_name).encode("utf-8")
    if ask:
        value = click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
        return str(value).encode("utf-8")
    return None


def typed_secret(label: str) -> str:
    """A secret typed at the terminal, hidden. Ctrl-C at the prompt is an interrupt like any other
    (exit 130 and one line), not Click's "Aborted!"."""
    try:
        return str(click.prompt(label.rstrip(": "), hide_input=True, err=True))
    except click.exceptions.Abort:
        raise KeyboardInterrupt from None


def has_terminal() -> bool:
    """Standard input is a terminal someone can type at.

    Hidden input (getpass) would otherwise open /dev/tty behind a redirected stdin and wait
    for a person who is not there (cron, systemd, CI), or read a pipe and echo: neither is a
    prompt. Without a terminal, ``prompt`` secrets and assisted-mode pauses are refused.
    """
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):
        return False


# The options of every command that opens a sealed archive (verify, extract, report).
archive_options = apply([
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
    json_option,
])


def verify_options(archive: Path, identities: tuple[Path, ...], ask_passphrase: bool, passphrase_env: str | None,
                   trust_key: Path | None, tsa_cas: tuple[Path, ...], receipt: Path | None, no_receipt: bool,
                   max_member_size: int | None, **_: Any) -> Any:
    """The core's VerifyOptions from the archive options above."""
    from evidence_kit.seal.keys import load_identities, load_public_key
    from evidence_kit.seal.timestamp import load_roots
    from evidence_kit.seal.verify import VerifyOptions

    passphrase = read_passphrase(ask_passphrase, passphrase_env, confirm=False)
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


UNEXPECTED = "evidence_kit.unexpected"
INTERRUPTED = "evidence_kit.interrupted"


def consequences(unexpected: str | None = None, interrupted: str | None = None) -> Callable[[F], F]:
    """Say what an unexpected failure (exit 1) or an interrupt (exit 130) of this command leaves
    behind; the group prints it after the error."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            meta = click.get_current_context().meta
            if unexpected:
                meta[UNEXPECTED] = unexpected
            if interrupted:
                meta[INTERRUPTED] = interrupted
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
