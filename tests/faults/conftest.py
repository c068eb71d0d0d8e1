"""Fixtures of the fault suite: signing and age keys for the two-state checks, the in-process demo
SSH device, and an inventory builder for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence_kit.demo.ssh_device import DemoDevice
from tests.seal.helpers import Keyset, make_keyset


@pytest.fixture(scope="session")
def keyset(tmp_path_factory: pytest.TempPathFactory) -> Keyset:
    return make_keyset(tmp_path_factory.mktemp("fault-keys"))


@pytest.fixture(scope="module")
def device() -> Iterator[DemoDevice]:
    with DemoDevice() as d:
        yield d


def demo_inventory(folder: Path, device: DemoDevice, names: tuple[str, ...] = ("rtr",), letter: bool = True,
                   extra: str = "") -> Path:
    """An inventory of cisco_ios targets on the demo device (secrets as env:EKT_PW / env:EKT_EN)."""
    folder.mkdir(parents=True, exist_ok=True)
    auth = ""
    if letter:
        (folder / "letter.txt").write_text("Contoso authorizes Example MSP to test the handed-over credentials.\n")
        auth = ", authorization: letter.txt"
    rows = "".join(
        f"  - {{name: {name}, profile: cisco_ios, host: 127.0.0.1, port: {device.port}, "
        f"username: {device.username}, password: env:EKT_PW, enable_secret: env:EKT_EN{extra}}}\n" for name in names)
    path = folder / "inventory.yaml"
    path.write_text(f"case: {{client: Contoso, provider: Example MSP, technician: Tester{auth}}}\ntargets:\n{rows}")
    return path


def demo_env(device: DemoDevice) -> dict[str, str]:
    return {"EKT_PW": device.password, "EKT_EN": device.enable_secret}
