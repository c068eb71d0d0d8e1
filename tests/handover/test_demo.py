"""The demo's handover part: export -> import -> capture -> handover -> package check -> acknowledgment."""

from __future__ import annotations

import json
from pathlib import Path

from tests.handover.conftest import keepassxc, unpack
from tests.helpers import assert_no_secrets


def test_demo_hands_over_checks_the_package_and_acknowledges(tmp_path: Path) -> None:
    from evidence_kit.demo import run_demo

    lines: list[str] = []
    result = run_demo(tmp_path / "demo", echo=lines.append, web=False)
    printed = "\n".join(lines)
    assert result.ok and result.handed_over, printed
    assert "into inventory.yaml (2 cisco_ios)" in printed
    assert "passed      credential demo-router: the credential delivered for demo-router (password, " \
           "enable_secret) is the one that worked at" in printed
    assert "passed      acknowledgment: New Provider (demo)" in printed
    folder = result.folder
    assert "bitwarden:" in (folder / "inventory.yaml").read_text()
    (export,) = (folder / "vault").iterdir()  # the vault export exists only encrypted
    assert export.name.endswith(".json.age") and export.read_bytes().startswith(b"age-encryption.org/v1\n")
    out = result.handover
    assert out is not None and (out / "transmittal.json").is_file()
    (statement,) = (out / "acknowledgments").glob("*.json")
    assert json.loads(statement.read_text())["acknowledged_by"]["signature"] == "sshsig"
    package = next(out.glob("*-credentials.age"))
    opened = unpack(package, folder / "new-provider" / "id_ed25519", tmp_path / "pkg")
    shown = keepassxc(opened, "show", "-s", str(opened / "credentials.kdbx"), "demo-router")
    secrets = [s.reveal() for s in result.used_secrets]
    assert any(f"Password: {s}" in shown for s in secrets)
    assert_no_secrets(folder, secrets)  # the export is encrypted, the package too
    assert not any(s in printed for s in secrets)
