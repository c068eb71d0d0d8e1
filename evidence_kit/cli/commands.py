"""Where command families are attached to the group; each family lives in its own module."""

from __future__ import annotations

import importlib

import click

# module name -> attribute holding the click command or group
FAMILIES = {
    "evidence_kit.cli.capture_cmd": ("capture", "run", "demo"),
    "evidence_kit.cli.profiles_cmd": ("profiles",),
    "evidence_kit.cli.keys_cmd": ("keys",),
    "evidence_kit.cli.seal_cmd": ("seal", "verify", "extract"),
    "evidence_kit.cli.report_cmd": ("report",),
    "evidence_kit.cli.schedule_cmd": ("schedule",),
    "evidence_kit.cli.history_cmd": ("history",),
    "evidence_kit.cli.import_cmd": ("import",),
    "evidence_kit.cli.handover_cmd": ("handover", "acknowledge"),
}


def register(group: click.Group) -> None:
    for module_name, names in FAMILIES.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # family not built yet
            raise
        for name in names:
            command = getattr(module, name, None)
            if isinstance(command, click.Command):
                group.add_command(command, name)
