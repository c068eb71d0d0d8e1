"""What ``run`` does besides capture and seal, kept out of capture_cmd.py: the alert channels
(loaded, resolved and checked before anything is captured) and the lines printed after."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


def prepare_alerts(prepared: Any, alerts_path: Path | None, no_alerts: bool) -> tuple[Any, list[str]]:
    """(channels or None, warnings). Bad settings, a missing secret or a refused SMTP login are
    raised here, before the first target connects (exit 2, nothing captured)."""
    from evidence_kit.capture import resolve_secrets
    from evidence_kit.cli.options import has_terminal, typed_secret
    from evidence_kit.schedule.alerts import preflight
    from evidence_kit.schedule.alerts_config import load_channels
    from evidence_kit.secrets import SecretResolver

    if no_alerts:
        return None, []
    inventory = prepared.inventory
    # The targets' secrets first, as capture would: a missing one is reported before any server is contacted.
    resolve_secrets(inventory, inventory.select(prepared.only), prepared.resolver)
    file_resolver = None
    if alerts_path is not None:
        file_resolver = SecretResolver(prompt=typed_secret if has_terminal() else None,
                                       keepass=inventory.keepass_source(), base_dir=Path(alerts_path).parent)
    channels = load_channels(inventory.path, alerts_path, prepared.resolver, file_resolver)
    if channels is None:
        return None, []
    return channels, preflight(channels)


def print_run_extras(result: Any, quiet: bool) -> None:
    """The chain position, each alert sent and every warning (warnings on stderr, always)."""
    if not quiet:
        if result.chain:
            previous = result.chain.get("previous") or {}
            follows = f", follows {previous.get('archive')}" if previous else ", the first of its history"
            click.echo(f"history: run {result.chain.get('position')}{follows}")
        for delivery in result.alerts:
            if delivery.delivered:
                click.echo(f"alert via {delivery.channel} ({delivery.destination}): {delivery.outcome}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
