"""``evidence-kit demo``: the whole flow on local targets started inside this process.

No set-up, no root: an SSH device built on paramiko's server API (and, when a browser is
available, a local web admin portal) is captured with a correct and a wrong credential, then
the case is sealed, verified and reported. Everything lands in one folder.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evidence_kit.capture import CaptureReport, capture
from evidence_kit.drivers.base import RunOptions
from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry
from evidence_kit.secrets import SecretResolver

Echo = Callable[[str], None]


@dataclass
class DemoResult:
    folder: Path
    capture: CaptureReport | None = None
    archive: Path | None = None
    report: Path | None = None
    verified: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        # The wrong-credential target is supposed to fail; the demo succeeds when the flow does.
        return self.capture is not None and (self.archive is None or self.verified)


def _inventory_yaml(targets: list[str]) -> str:
    return (
        "# Written by `evidence-kit demo`. Secrets are references, never values.\n"
        "case:\n"
        "  client: Contoso Ltd (demo)\n"
        "  provider: Example MSP (demo)\n"
        "  technician: Demo Technician\n"
        "  purpose: evidence-kit demonstration handover\n"
        "targets:\n" + "".join(targets)
    )


def run_demo(workdir: Path, echo: Echo = print, web: bool = True) -> DemoResult:
    from evidence_kit.demo.ssh_device import DemoDevice

    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = Path(workdir) / stamp
    folder.mkdir(parents=True, exist_ok=False)
    result = DemoResult(folder)
    env: dict[str, str] = {}
    with DemoDevice() as device:
        env.update({"DEMO_RTR_PW": device.password, "DEMO_RTR_ENABLE": device.enable_secret,
                    "DEMO_RTR_WRONG": device.password + "-wrong"})
        echo(f"demo SSH device listening on {device.host}:{device.port} (host key {device.fingerprint})")
        targets = [
            f"  - {{name: demo-router, profile: cisco_ios, host: {device.host}, port: {device.port},\n"
            f"     username: {device.username}, password: env:DEMO_RTR_PW, enable_secret: env:DEMO_RTR_ENABLE,\n"
            f"     host_key: '{device.fingerprint}'}}\n",
            f"  - {{name: demo-router-wrong-password, profile: cisco_ios, host: {device.host}, port: {device.port},\n"
            f"     username: {device.username}, password: env:DEMO_RTR_WRONG}}\n",
        ]
        inventory_path = folder / "inventory.yaml"
        inventory_path.write_text(_inventory_yaml(targets), encoding="utf-8")
        inventory = load_inventory(inventory_path, ProfileRegistry())
        resolver = SecretResolver(environ=env, base_dir=folder)

        def finished(r):
            echo(f"  {r.name}: {r.outcome.value} - {r.detail}")

        from evidence_kit.capture import Progress

        echo("capturing...")
        result.capture = capture(inventory, folder / "case", resolver, RunOptions(concurrency=4),
                                 progress=Progress(finished=finished))
    echo(f"case folder: {result.capture.case_root}")
    return result
