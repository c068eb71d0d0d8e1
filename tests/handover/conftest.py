"""Fixtures for the handover: a case really captured (the in-process demo SSH device), keys made
by standard tools (age-keygen's format through keys generate, ssh-keygen), a real openssl TSA,
and one handover made from it that read-only tests share."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from evidence_kit.demo.ssh_device import DemoDevice
from evidence_kit.seal import keys
from tests.helpers import random_password
from tests.seal.helpers import run_cli
from tests.servers.tsa import TSA

TOTP_SEED = "JBSWY3DPEHPK3PXPGEZDGNBVGY3TQOJQ"


@dataclass
class World:
    """Everything a handover test starts from. ``case`` and ``inventory`` are the originals:
    tests that change them work on :func:`copy_world` copies."""

    folder: Path
    device: DemoDevice
    env: dict[str, str]
    client: keys.GeneratedKeys
    provider: keys.GeneratedKeys  # the MSP: signs
    newprov_ssh: Path  # the new provider's OpenSSH private key (ed25519); its .pub is the recipient
    case: Path
    inventory: Path
    secrets: list[str] = field(default_factory=list)

    @property
    def newprov_recipient(self) -> str:
        return self.newprov_ssh.with_suffix(".pub").read_text().strip()

    def to_args(self) -> list[str]:
        return ["--to", f"New Provider={self.newprov_recipient}"]

    def handover_args(self, case: Path, out: Path, *extra: object) -> list[str]:
        return ["handover", str(case), *self.to_args(), "--sign-key", str(self.provider.signing_key),
                "-o", str(out), *map(str, extra)]


def _inventory(device: DemoDevice, client: str, authorization: bool) -> str:
    auth = "authorization: authorization-letter.txt, " if authorization else ""
    return (
        f"case: {{client: Contoso Ltd, provider: Example MSP, technician: J. Doe, {auth}recipients: [{client}]}}\n"
        "targets:\n"
        f"  - {{name: core-router, profile: cisco_ios, host: 127.0.0.1, port: {device.port}, "
        f"username: {device.username}, password: env:EKH_PW, enable_secret: env:EKH_EN, totp: env:EKH_TOTP, "
        "secrets: {snmp_community: env:EKH_SNMP}}\n"
        f"  - {{name: old-switch, profile: cisco_ios, host: 127.0.0.1, port: {device.port}, "
        f"username: {device.username}, password: env:EKH_WRONG}}\n"
    )


def make_world(folder: Path, device: DemoDevice, authorization: bool = True) -> World:
    from evidence_kit.capture import capture
    from evidence_kit.drivers.base import RunOptions
    from evidence_kit.inventory import load_inventory
    from evidence_kit.profiles import ProfileRegistry
    from evidence_kit.secrets import SecretResolver

    folder.mkdir(parents=True, exist_ok=True)
    client = keys.generate(folder / "client-keys")
    provider = keys.generate(folder / "msp-keys")
    ssh_key = folder / "newprov" / "id_ed25519"
    ssh_key.parent.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "noc@newprovider.example", "-f",
                    str(ssh_key)], check=True)
    env = {"EKH_PW": device.password, "EKH_EN": device.enable_secret, "EKH_TOTP": TOTP_SEED,
           "EKH_SNMP": random_password("Snmp"), "EKH_WRONG": device.password + "-wrong"}
    work = folder / "work"
    work.mkdir()
    (work / "authorization-letter.txt").write_text("Contoso authorizes Example MSP to hand the credentials to "
                                                   "New Provider.\n")
    inventory = work / "inventory.yaml"
    inventory.write_text(_inventory(device, client.recipient, authorization))
    inv = load_inventory(inventory, ProfileRegistry())
    capture(inv, work / "case", SecretResolver(environ=env, base_dir=work), RunOptions(concurrency=2))
    return World(folder, device, env, client, provider, ssh_key, work / "case", inventory,
                 secrets=[v for k, v in env.items() if k != "EKH_TOTP"] + [TOTP_SEED])


def copy_world(world: World, dest: Path) -> World:
    """A private copy of the case and its inventory (side by side, as captured)."""
    shutil.copytree(world.case.parent, dest)
    return World(world.folder, world.device, dict(world.env), world.client, world.provider, world.newprov_ssh,
                 dest / "case", dest / "inventory.yaml", list(world.secrets))


@pytest.fixture(scope="session")
def device() -> Iterator[DemoDevice]:
    with DemoDevice() as d:
        yield d


@pytest.fixture(scope="session")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TSA]:
    server = TSA(tmp_path_factory.mktemp("handover-tsa")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory, device: DemoDevice) -> World:
    return make_world(tmp_path_factory.mktemp("handover-world"), device)


@pytest.fixture
def mine(world: World, tmp_path: Path) -> World:
    return copy_world(world, tmp_path / "w")


@dataclass
class Handed:
    world: World
    out: Path
    stdout: str
    stderr: str

    def one(self, pattern: str) -> Path:
        (found,) = sorted(self.out.glob(pattern))
        return found

    @property
    def archive(self) -> Path:
        return next(p for p in self.out.glob("*.age") if not p.name.endswith("-credentials.age"))

    @property
    def package(self) -> Path:
        return self.one("*-credentials.age")


@pytest.fixture(scope="session")
def handed(world: World, tsa: TSA, tmp_path_factory: pytest.TempPathFactory) -> Handed:
    """One complete handover (PDF letter, TSA) of a copy of the world's case, shared read-only."""
    w = copy_world(world, tmp_path_factory.mktemp("handed") / "w")
    out = w.case.parent.parent / "handover"
    result = run_cli(w.handover_args(w.case, out, "--tsa", tsa.url, "--tsa-ca", tsa.root_pem), env=w.env)
    assert result.exit_code == 0, result.output
    return Handed(w, out, result.stdout, result.stderr)


def unpack(package: Path, identity: Path, dest: Path) -> Path:
    """What a recipient does: age -d | tar -x (the real CLIs). Returns the package folder."""
    dest.mkdir(parents=True, exist_ok=True)
    plain = subprocess.run(["age", "-d", "-i", str(identity), str(package)], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=plain.stdout, check=True)
    (folder,) = [p for p in dest.iterdir() if p.is_dir()]
    return folder


def keepassxc(folder: Path, *args: str) -> str:
    """keepassxc-cli on the unpacked package, the passphrase on stdin (as docs/handover.md says)."""
    with open(folder / "passphrase.txt", "rb") as stdin:
        done = subprocess.run(["keepassxc-cli", args[0], "-q", *args[1:]], stdin=stdin, capture_output=True,
                              timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


@pytest.fixture(autouse=True)
def _no_case_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("EKH_"):
            monkeypatch.delenv(name)
