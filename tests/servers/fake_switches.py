"""fake-switches (PyPI) device simulators over SSH, as a session-scoped fixture.

fake-switches is installed with ``--no-deps`` (its pins do not build on Python 3.11; see
docs/real-parts.md) and started here from Python: ``SwitchFactory().get(model, hostname,
enable_password)`` + ``SwitchSshService`` on a Twisted reactor, in a child process
(``python -m tests.servers.fake_switches``) so the reactor never touches the test process.
The child reads its switches and credentials as JSON on stdin (never argv) and prints one
JSON line with the ports it listens on.

Models started: ``cisco_generic`` (profile cisco_ios, with an enable password) and
``arista_generic`` (arista_eos). Not started, because no shipped SSH profile can use them:
``juniper_generic`` — its core only serves NETCONF (``launch()`` raises NotImplemented, so an
interactive shell dies at once); ``dell_generic`` / ``brocade_generic`` — no Dell or Brocade
profile ships yet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from tests.helpers import random_password

ROOT = Path(__file__).resolve().parents[2]

# model -> (shipped profile, hostname, has an enable password)
MODELS: dict[str, tuple[str, str, bool]] = {
    "cisco_generic": ("cisco_ios", "fs-cisco", True),
    "arista_generic": ("arista_eos", "fs-arista", False),
}


@dataclass(frozen=True)
class FakeSwitch:
    model: str
    profile: str
    hostname: str
    host: str
    port: int
    username: str
    password: str
    enable_secret: str | None


@dataclass(frozen=True)
class FakeSwitches:
    switches: Mapping[str, FakeSwitch]  # by model

    def secrets(self) -> list[str]:
        out = []
        for s in self.switches.values():
            out.append(s.password)
            if s.enable_secret:
                out.append(s.enable_secret)
        return out


def _serve() -> None:
    """Child process: start every switch in the spec on one reactor; print the ports."""
    import logging

    from fake_switches.switch_factory import SwitchFactory
    from fake_switches.transports.ssh_service import SwitchSshService
    from twisted.internet import reactor

    logging.basicConfig(level=logging.WARNING)
    spec = json.loads(sys.stdin.readline())
    factory = SwitchFactory()
    ports: dict[str, int] = {}
    for sw in spec["switches"]:
        # An empty enable password: fake-switches accepts "" for enable when none is wanted.
        core = factory.get(sw["model"], sw["hostname"], sw.get("enable") or "")
        service = SwitchSshService(ip="127.0.0.1", port=0, switch_core=core,
                                   users={sw["username"]: sw["password"].encode()})
        listening = service.hook_to_reactor(reactor)
        ports[sw["model"]] = listening.getHost().port
    print(json.dumps({"ports": ports}), flush=True)
    reactor.run()  # type: ignore[misc]


def start_fake_switches() -> tuple[subprocess.Popen[str], FakeSwitches]:
    spec: dict[str, Any] = {"switches": []}
    for model, (_, hostname, has_enable) in MODELS.items():
        spec["switches"].append({
            "model": model, "hostname": hostname, "username": "netadmin",
            "password": random_password("Fs"), "enable": random_password("FsEn") if has_enable else None,
        })
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.servers.fake_switches"], cwd=ROOT, env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(spec) + "\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line:
        err = proc.stderr.read() if proc.stderr else ""
        proc.kill()
        raise RuntimeError(f"fake-switches did not start: {err[-1500:]}")
    ports = json.loads(line)["ports"]
    switches = {
        sw["model"]: FakeSwitch(
            model=sw["model"], profile=MODELS[sw["model"]][0], hostname=sw["hostname"], host="127.0.0.1",
            port=int(ports[sw["model"]]), username=sw["username"], password=sw["password"],
            enable_secret=sw["enable"],
        )
        for sw in spec["switches"]
    }
    return proc, FakeSwitches(MappingProxyType(switches))


def stop_fake_switches(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


@pytest.fixture(scope="session")
def fake_switches() -> Iterator[FakeSwitches]:
    try:
        import fake_switches  # noqa: F401
    except ImportError:
        pytest.skip("fake-switches is not installed (pip install --no-deps fake-switches)")
    proc, switches = start_fake_switches()
    try:
        yield switches
    finally:
        stop_fake_switches(proc)


if __name__ == "__main__":
    _serve()
