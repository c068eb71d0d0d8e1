"""End to end: a Bitwarden export (age-encrypted) whose entries point at the real sshd, imported,
then captured: the password and the enable secret are read from the export during the capture."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from evidence_kit.capture import capture
from evidence_kit.drivers.base import RunOptions
from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry
from evidence_kit.secrets import SecretResolver
from tests.helpers import assert_no_secrets, random_password
from tests.importers import samples
from tests.servers.sshd import SshdTargets

FAST = {"connect": 5, "banner": 5, "auth": 20, "command": 10}


def test_import_then_capture_reads_secrets_from_the_export(sshd_targets: SshdTargets, tmp_path: Path,
                                                          run_cli: Any) -> None:
    linux, cisco = sshd_targets.account("linux"), sshd_targets.account("cisco_ios")
    port = sshd_targets.port
    wrong = random_password("Wrong")
    items = [
        samples.Spec("Web server", f"ssh://127.0.0.1:{port}", linux.username, "linux", password=linux.password),
        samples.Spec("Core router (Cisco)", f"ssh://127.0.0.1:{port}", cisco.username, "cisco_ios",
                     password=cisco.password, enable=cisco.enable_secret),
        samples.Spec("Old web server", f"ssh://127.0.0.1:{port}", linux.username, "linux", password=wrong),
        samples.Spec("Office printer", "https://127.0.0.1:9", "admin", None),
    ]
    sample = samples.write("bitwarden_json", tmp_path / "export", items)
    sealed, identity = samples.age_encrypt(sample.path, tmp_path / "keys")
    assert not sample.path.exists()  # no plaintext export on disk, only the age file

    out = tmp_path / "case-files" / "inventory.yaml"
    res = run_cli("import", sealed, "-o", out, "--identity", identity, "--provider", "Example MSP")
    assert res.exit_code == 0, res.stderr
    inventory = load_inventory(out, ProfileRegistry())
    by_name = {t.name: t for t in inventory.targets}
    assert {n: t.profile for n, t in by_name.items()} == {
        "web-server": "linux", "core-router-cisco": "cisco_ios", "old-web-server": "linux"}
    assert str(by_name["core-router-cisco"].enable_secret).endswith("/fields/Enable secret")  # type: ignore[attr-defined]

    # Short timeouts and the known host key: what a technician adds after the import.
    extra = f"    known_hosts: {sshd_targets.known_hosts}\n    timeouts: {json.dumps(FAST)}\n"
    out.write_text(re.sub(r"^(?=    description:)", extra, out.read_text(), flags=re.MULTILINE))
    inventory = load_inventory(out, ProfileRegistry())

    resolver = SecretResolver(base_dir=out.parent, environ={}, sources=inventory.case.sources)
    report = capture(inventory, tmp_path / "case", resolver, RunOptions(concurrency=3))
    outcomes = {r.name: r.outcome.value for r in report.results}
    assert outcomes == {"web-server": "login_ok", "core-router-cisco": "login_ok", "old-web-server": "auth_failed"}, \
        [(r.name, r.detail) for r in report.results]
    journal = (tmp_path / "case" / "journal.jsonl").read_text()
    assert "enable_secret" in journal  # the enable secret read from the export was committed to
    everything = [*sample.secrets, wrong]
    assert_no_secrets(tmp_path / "case", everything)
    assert_no_secrets(out, everything)
    assert_no_secrets(tmp_path / "keys", everything)
