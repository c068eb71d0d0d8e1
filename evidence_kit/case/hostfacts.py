"""Facts about the capture host: who, where, with what, on which clock."""

from __future__ import annotations

import getpass
import importlib.metadata
import platform
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from evidence_kit import __version__

DEPENDENCIES = (
    "click", "paramiko", "cryptography", "pillow", "playwright", "pyrage", "bagit", "rfc3161-client",
    "ldap3", "pyotp", "pykeepass", "pydantic", "pyyaml", "rich", "jinja2",
)
CLOCKSOURCE = "/sys/devices/system/clocksource/clocksource0/current_clocksource"


def dependency_versions() -> dict[str, str]:
    out = {}
    for name in DEPENDENCIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def host_addresses() -> list[str]:
    addrs: set[str] = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            addrs.add(str(info[4][0]))
    except OSError:
        pass
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=2, check=False)
        addrs.update(out.stdout.split())
    except (OSError, subprocess.SubprocessError):
        pass
    return sorted(addrs)


def clock_facts() -> dict[str, Any]:
    facts: dict[str, Any] = {"source": "system clock", "synchronized": None, "timezone": time.tzname[0]}
    try:
        facts["clocksource"] = Path(CLOCKSOURCE).read_text().strip()
    except OSError:
        pass
    try:
        out = subprocess.run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "-p", "NTP", "--value"],
            capture_output=True, text=True, timeout=2, check=False,
        )
        if out.returncode == 0 and out.stdout.strip():
            values = out.stdout.split()
            facts["synchronized"] = values[0] == "yes"
            facts["source"] = "system clock (NTP)" if len(values) > 1 and values[1] == "yes" else "system clock"
    except (OSError, subprocess.SubprocessError):
        pass
    return facts


def run_facts(inventory_sha256: str | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    facts: dict[str, Any] = {
        "host": {
            "hostname": socket.gethostname(),
            "fqdn": socket.getfqdn(),
            "addresses": host_addresses(),
            "os": platform.platform(),
            "user": user,
            "python": platform.python_version(),
        },
        "tool": {"name": "evidence-kit", "version": __version__},
        "dependencies": dependency_versions(),
        "clock": clock_facts(),
    }
    if inventory_sha256:
        facts["inventory_sha256"] = inventory_sha256
    facts.update(extra or {})
    return facts
