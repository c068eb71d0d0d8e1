"""What one scheduled run leaves besides the archive: --junit, --json, and capture checkpoints that
verify re-checks (real sshd, real TSA)."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from evidence_kit.schedule.junit import xml_safe
from tests.helpers import assert_no_secrets
from tests.schedule.conftest import Keys, cli
from tests.servers.sshd import InventoryTarget, SshdTargets, build_inventory
from tests.servers.tsa import TSA

FAST = {"timeouts": {"connect": 5, "banner": 5, "auth": 20, "command": 10}}


def test_run_writes_junit_and_json_and_its_checkpoints_verify(own_sshd: SshdTargets, run_keys: Keys,
                                                              tmp_path: Path) -> None:
    tsa = TSA(tmp_path / "tsa").start()
    try:
        inv = tmp_path / "inventory.yaml"
        env = build_inventory(inv, [
            InventoryTarget("web-gw", own_sshd.account("linux"), own_sshd.port, extra=FAST),
            InventoryTarget("wrong-pw", own_sshd.account("linux"), own_sshd.port, password="not-it", extra=FAST),
            InventoryTarget("closed", own_sshd.account("linux"), own_sshd.unreachable_port, extra=FAST),
        ])
        doc = yaml.safe_load(inv.read_text())
        doc["case"]["recipients"] = [run_keys.recipient]
        inv.write_text(yaml.safe_dump(doc, sort_keys=False))
        env = {**os.environ, **env}
        report = tmp_path / "out" / "junit.xml"
        report.parent.mkdir()
        proc = cli(["run", str(inv), "--case", str(tmp_path / "case"), "--sign-key", str(run_keys.sign_key),
                    "--archive-dir", str(tmp_path / "archives"), "--tsa", tsa.url, "--tsa-ca", str(tsa.root_pem),
                    "--junit", str(report), "--json"], env)
        assert proc.returncode == 1, proc.stderr
        data = json.loads(proc.stdout)
        assert data["run"] == 1 and data["chain"]["position"] == 1 and data["chain"]["previous"] is None
        assert data["alerts"] == [] and data["warnings"] == []

        suite = ET.parse(report).getroot()  # noqa: S314 - our own file
        assert suite.tag == "testsuite" and suite.get("tests") == "3" and suite.get("failures") == "2"
        cases = {c.get("name"): c for c in suite.iter("testcase")}
        assert set(cases) == {"web-gw", "wrong-pw", "closed"}
        assert cases["web-gw"].find("failure") is None
        assert cases["web-gw"].get("classname") == "evidence-kit.ssh.linux"
        failure = cases["wrong-pw"].find("failure")
        assert failure is not None and failure.get("type") == "auth_failed"
        assert str(failure.get("message")).startswith("auth_failed: ") and failure.text
        closed = cases["closed"].find("failure")
        assert closed is not None and closed.get("type") == "unreachable"
        props = {p.get("name"): p.get("value") for p in suite.find("properties") or []}
        assert props["archive"] == data["seal"]["archive"]

        verified = cli(["verify", data["seal"]["archive"], "--identity", str(run_keys.identity), "--tsa-ca",
                        str(tsa.root_pem), "--json"], env)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        checks = {c["check"]: c for c in json.loads(verified.stdout)["checks"]}
        assert checks["checkpoints"]["status"] == "passed"
        assert checks["checkpoints trust"]["status"] == "passed"
        assert checks["checkpoint coverage"]["status"] == "passed"
        assert "all 3 target login(s)" in checks["checkpoint coverage"]["detail"]
        assert_no_secrets(tmp_path, [own_sshd.account("linux").password])
    finally:
        tsa.stop()


def test_junit_text_is_xml_safe() -> None:
    hostile = "banner \x1b[31mRED\x1b[0m \x00 <script>&\ud800"
    safe = xml_safe(hostile)
    assert "\\x1b" in safe and "\\x00" in safe and "\x1b" not in safe
    element = ET.Element("failure", {"message": safe})
    element.text = safe
    assert ET.fromstring(ET.tostring(element)).get("message") == safe  # noqa: S314 - our own bytes
