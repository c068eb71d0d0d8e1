"""``schedule print|install``: a systemd service + timer for ``evidence-kit run``, and the crontab line.

Why these choices:

* ``Type=oneshot`` started by a timer with ``Persistent=true`` (a run missed while the machine
  was off happens at the next boot) and an optional ``RandomizedDelaySec`` (many customers'
  runs do not hit one TSA or mail relay in the same second). A timer never starts a second
  run while one is still going; the case lock refuses one anyway.
* Secrets never go into a unit (units are world-readable, and ``systemctl show`` prints
  ``Environment=``): the inventory names them as references, and the unit loads the
  ``env:`` ones from an ``EnvironmentFile=`` (mode 0600, written by ``install`` with the
  names and empty values; fill them in). ``file:`` and ``keepass:`` references work as they
  are; ``--credential NAME:FILE`` adds systemd's ``LoadCredential=``, which the inventory
  reads as ``file:/run/credentials/<unit>.service/NAME`` (the file is copied there for the run
  only, readable by the service alone). A ``prompt`` reference is refused: a timer has no
  terminal.
* Every path is absolute, every argument quoted for systemd (``%`` and ``$`` doubled) or for
  the shell (crontab, where ``%`` is ``\\%``), so odd folder names survive.
* Light hardening that cannot break a capture: ``NoNewPrivileges``, ``PrivateTmp``,
  ``ProtectSystem=full``, ``UMask=0077`` (the case holds evidence), a start timeout so a hung
  run cannot hold the timer for ever. Exit 1 (a login failed) marks the service failed, so
  ``systemctl --failed`` and ``OnFailure=`` see it; exit 2 is bad input.

The generated units pass ``systemd-analyze verify`` with nothing on stderr (tested).
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidence_kit.errors import UsageError

EVERY = {  # name -> (OnCalendar given HH:MM, cron fields given minute and hour)
    "hourly": ("*-*-* *:{m:02d}:00", "{m} * * * *"),
    "daily": ("*-*-* {h:02d}:{m:02d}:00", "{m} {h} * * *"),
    "weekly": ("Mon *-*-* {h:02d}:{m:02d}:00", "{m} {h} * * 1"),
    "monthly": ("*-*-01 {h:02d}:{m:02d}:00", "{m} {h} 1 * *"),
}
_UNIT_NAME = re.compile(r"[A-Za-z0-9:_.\\-]{1,200}")
_SAFE_ARG = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


def systemd_quote(arg: str) -> str:
    """One ExecStart= word: specifiers and variables escaped, quoted when it needs to be."""
    escaped = arg.replace("%", "%%").replace("$", "$$")
    if _SAFE_ARG.fullmatch(arg):
        return escaped
    if any(ord(c) < 32 for c in arg):
        raise UsageError(f"{arg!r}: control characters cannot go into a systemd unit")
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_path(path: Path) -> str:
    """A path setting (``WorkingDirectory=``, ``EnvironmentFile=``): the whole value, not split
    or unquoted, so only specifiers are escaped (quotes would become part of the path)."""
    text = str(path)
    if any(ord(c) < 32 for c in text) or text != text.strip():
        raise UsageError(f"{text!r}: a path with control characters or edge spaces cannot go into a systemd unit")
    return text.replace("%", "%%")


def cron_quote(arg: str) -> str:
    return shlex.quote(arg).replace("%", "\\%")


def default_executable() -> list[str]:
    """How the unit starts evidence-kit: the script beside this Python, else ``python -m``."""
    script = Path(sys.executable).parent / "evidence-kit"
    if script.is_file():
        return [str(script)]
    found = shutil.which("evidence-kit")
    if found:
        return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "evidence_kit"]


@dataclass
class Schedule:
    """Everything the units say; paths absolute (the CLI makes them so)."""

    name: str
    description: str
    run_args: list[str]  # after "run": the inventory and every option
    working_dir: Path
    env_file: Path
    env_names: list[str] = field(default_factory=list)
    every: str = "daily"
    at: str = "02:00"
    on_calendar: str | None = None  # overrides every/at
    randomized_delay: int = 0  # seconds
    user: str | None = None
    timeout: str = "4h"
    executable: list[str] = field(default_factory=default_executable)
    log_file: Path | None = None
    credentials: list[tuple[str, Path]] = field(default_factory=list)  # LoadCredential= NAME, file

    def __post_init__(self) -> None:
        if not _UNIT_NAME.fullmatch(self.name):
            raise UsageError(f"--name {self.name!r}: a unit name is letters, digits and :_.-\\ only")
        if self.every not in EVERY:
            raise UsageError(f"--every {self.every!r}: one of {', '.join(EVERY)}")
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", self.at)
        if not match:
            raise UsageError(f"--at {self.at!r}: HH:MM, 24-hour")
        self._hour, self._minute = int(match.group(1)), int(match.group(2))
        if self.on_calendar is not None and any(c in self.on_calendar for c in "\n\r"):
            raise UsageError("--on-calendar: one line")
        for name, _ in self.credentials:
            if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
                raise UsageError(f"--credential {name!r}: a credential name is letters, digits and _.- only")

    @property
    def credentials_dir(self) -> str:
        """Where the service finds its credentials: inventories refer to file:THIS/NAME."""
        return f"/run/credentials/{self.name}.service"

    @property
    def calendar(self) -> str:
        return self.on_calendar or EVERY[self.every][0].format(h=self._hour, m=self._minute)

    @property
    def cron_fields(self) -> str | None:
        if self.on_calendar is not None:
            return None
        return EVERY[self.every][1].format(h=self._hour, m=self._minute)

    def command(self) -> list[str]:
        return [*self.executable, "run", *self.run_args]

    def service(self) -> str:
        lines = [
            "# Generated by evidence-kit schedule (docs/scheduled-runs.md). Secrets live in the",
            "# EnvironmentFile (mode 0600), never in this unit.",
            "[Unit]",
            f"Description={_one_line(self.description)}",
            "Wants=network-online.target",
            "After=network-online.target",
            "",
            "[Service]",
            "Type=oneshot",
            "ExecStart=" + " ".join(systemd_quote(a) for a in self.command()),
            f"WorkingDirectory={systemd_path(self.working_dir)}",
            f"EnvironmentFile={systemd_path(self.env_file)}",
        ]
        lines += [f"LoadCredential={name}:{systemd_path(path)}" for name, path in self.credentials]
        if self.user:
            lines.append(f"User={self.user}")
        lines += [
            f"TimeoutStartSec={self.timeout}",
            "TimeoutStopSec=60",
            "UMask=0077",
            "NoNewPrivileges=yes",
            "PrivateTmp=yes",
            "ProtectSystem=full",
            "",
        ]
        return "\n".join(lines)

    def timer(self) -> str:
        lines = [
            "# Generated by evidence-kit schedule (docs/scheduled-runs.md).",
            "[Unit]",
            f"Description=Timer for {self.name}.service",
            "",
            "[Timer]",
            f"OnCalendar={self.calendar}",
            "Persistent=true",
        ]
        if self.randomized_delay:
            lines.append(f"RandomizedDelaySec={self.randomized_delay}")
        lines += [f"Unit={self.name}.service", "", "[Install]", "WantedBy=timers.target", ""]
        return "\n".join(lines)

    def env_template(self) -> str:
        lines = [f"# Secrets for {self.name}.service: one NAME=value per line (mode 0600, owned by the run's user).",
                 "# Values are read literally by systemd; for the crontab line keep them shell-safe."]
        lines += [f"{name}=" for name in self.env_names]
        return "\n".join(lines) + "\n"

    def crontab(self) -> str:
        fields = self.cron_fields
        log = self.log_file or Path(f"/var/log/{self.name}.log")
        command = (f"cd {cron_quote(str(self.working_dir))} && set -a && . {cron_quote(str(self.env_file))} && "
                   f"set +a && exec {' '.join(cron_quote(a) for a in self.command())} >> {cron_quote(str(log))} 2>&1")
        if fields is None:
            return f"# no crontab equivalent of OnCalendar={self.calendar}; use --every/--at for one\n"
        return f"{fields} {command}\n"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "service": self.service(), "timer": self.timer(), "env_file": str(self.env_file),
                "env_names": list(self.env_names), "crontab": self.crontab(), "on_calendar": self.calendar,
                "command": self.command()}


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace("%", "%%")


def verify_units(folder: Path, name: str) -> tuple[bool, str]:
    """Run ``systemd-analyze verify`` on the two units; (ok, what it said). Ok needs rc 0 *and*
    an empty stderr: it returns 0 for unknown keys, with only a warning."""
    import subprocess

    tool = shutil.which("systemd-analyze")
    if tool is None:
        return True, "systemd-analyze not found: the units were not verified"
    proc = subprocess.run([tool, "verify", str(folder / f"{name}.service"), str(folder / f"{name}.timer")],
                          capture_output=True, text=True, timeout=60)
    said = (proc.stderr + proc.stdout).strip()
    return proc.returncode == 0 and not proc.stderr.strip(), said
