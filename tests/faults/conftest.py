"""Fixtures of the fault suite: signing and age keys for the two-state checks, the in-process demo
SSH device and an inventory builder for it, a real sshd of the suite's own, a 1 MB-output profile."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from evidence_kit.demo.ssh_device import DemoDevice
from tests.seal.helpers import Keyset, make_keyset
from tests.servers.sshd import SSHD, SshdServer, SshdTargets


@pytest.fixture(scope="session")
def keyset(tmp_path_factory: pytest.TempPathFactory) -> Keyset:
    return make_keyset(tmp_path_factory.mktemp("fault-keys"))


@pytest.fixture(scope="module")
def device() -> Iterator[DemoDevice]:
    with DemoDevice() as d:
        yield d


def demo_inventory(folder: Path, device: DemoDevice, names: tuple[str, ...] = ("rtr",), letter: bool = True,
                   extra: str = "", profile: str = "cisco_ios") -> Path:
    """An inventory of targets on the demo device (secrets as env:EKT_PW / env:EKT_EN). ``demo_small``
    (in ``folder/profiles``) is cisco_ios cut to a login and ``show version``: fewer write points."""
    folder.mkdir(parents=True, exist_ok=True)
    if profile == "demo_small":
        from evidence_kit.profiles.builtin import __file__ as builtin

        data = yaml.safe_load((Path(builtin).parent / "cisco_ios.yaml").read_text())
        data.update(name="demo_small", on_open=[], identity_commands=["show version"], expected_mode="exec")
        (folder / "profiles").mkdir(exist_ok=True)
        (folder / "profiles" / "demo_small.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    auth = ""
    if letter:
        (folder / "letter.txt").write_text("Contoso authorizes Example MSP to test the handed-over credentials.\n")
        auth = ", authorization: letter.txt"
    rows = "".join(
        f"  - {{name: {name}, profile: {profile}, host: 127.0.0.1, port: {device.port}, "
        f"username: {device.username}, password: env:EKT_PW, enable_secret: env:EKT_EN{extra}}}\n" for name in names)
    path = folder / "inventory.yaml"
    path.write_text(f"case: {{client: Contoso, provider: Example MSP, technician: Tester{auth}}}\ntargets:\n{rows}")
    return path


def demo_env(device: DemoDevice) -> dict[str, str]:
    return {"EKT_PW": device.password, "EKT_EN": device.enable_secret}


@pytest.fixture(scope="session")
def fault_sshd() -> Iterator[SshdTargets]:
    """A real OpenSSH sshd of this suite's own (not the shared session fixture): a bash user, and one
    whose pre-auth banner is 250 KB."""
    if os.geteuid() != 0 or not Path(SSHD).exists():
        pytest.skip("needs root and OpenSSH sshd (apt-get install openssh-server)")
    # VERBOSE: sshd logs every connection, so a test can show that nothing reached it.
    with SshdServer(roles=("linux", "banner_huge"), log_level="VERBOSE") as targets:
        yield targets


MEGABYTE_COMMAND = ("yes 'evidence-kit fault suite: identity output, one line of 64 bytes....' | head -c 1048576; "
                    "echo")


@pytest.fixture(scope="session")
def megabyte_profiles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A profile folder with ``linux_megabyte``: the linux profile whose identity output is 1 MB."""
    from evidence_kit.profiles.builtin import __file__ as builtin

    folder = tmp_path_factory.mktemp("profiles")
    data = yaml.safe_load((Path(builtin).parent / "linux.yaml").read_text())
    data.update(name="linux_megabyte", identity_commands=["id", MEGABYTE_COMMAND])
    (folder / "linux_megabyte.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder
