"""acknowledge: OpenSSH and Ed25519 PEM keys countersign the transmittal; verify lists them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from evidence_kit.seal import keys
from tests.handover.conftest import Handed
from tests.seal.helpers import run_cli


@pytest.fixture
def folder(handed: Handed, tmp_path: Path) -> Path:
    """A private copy of the handover folder (acknowledgments are written into it)."""
    dest = tmp_path / "handover"
    shutil.copytree(handed.out, dest)
    return dest


def _archive(folder: Path) -> Path:
    return next(p for p in folder.glob("*.age") if not p.name.endswith("-credentials.age"))


def test_openssh_key_acknowledges_as_the_recipient_it_is(handed: Handed, folder: Path) -> None:
    key = handed.world.newprov_ssh
    result = run_cli(["acknowledge", folder / "transmittal.json", "--sign-key", key, "--remark", "all received"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("New Provider acknowledged transmittal ")  # named from the recipients
    (statement,) = (folder / "acknowledgments").glob("*.json")
    assert statement.name.startswith("New_Provider-")
    doc = json.loads(statement.read_text())
    assert doc["acknowledged_by"]["signature"] == "sshsig"
    assert doc["acknowledged_by"]["namespace"] == "evidence-kit-acknowledgment"
    assert doc["transmittal"]["sha256"] == __import__("hashlib").sha256(
        (folder / "transmittal.json").read_bytes()).hexdigest()
    assert doc["items"] == ["core-router", "old-switch"] and doc["remark"] == "all received"
    # ssh-keygen itself checks it, as printed
    signature = statement.with_name(statement.name + ".sig")
    assert signature.read_text().startswith("-----BEGIN SSH SIGNATURE-----\n")
    for line in result.stdout.splitlines():
        if line.strip().startswith("check: "):
            done = subprocess.run(line.split("check: ", 1)[1], shell=True, cwd=statement.parent,  # noqa: S602
                                  capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
    listed = run_cli(["verify", _archive(folder), "-i", handed.world.client.identity])
    assert listed.exit_code == 0, listed.output
    assert re.search(r"PASS\s+acknowledgment 1\s+New Provider \(SHA256:\S+\) acknowledged at 20\d\d-.*binds this "
                     r"transmittal; remark: all received", listed.output), listed.output


def test_pem_key_needs_a_name_and_signs_raw_ed25519(handed: Handed, folder: Path, tmp_path: Path) -> None:
    made = keys.generate(tmp_path / "pem")
    nameless = run_cli(["acknowledge", folder, "--sign-key", made.signing_key])
    assert nameless.exit_code == 2 and "--name NAME is needed" in nameless.stderr
    result = run_cli(["acknowledge", folder, "--sign-key", made.signing_key, "--name", "Contoso IT", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["key_kind"] == "ed25519" and doc["key_fingerprint"] == made.signer_fingerprint
    base = Path(doc["files"][0]).with_suffix("")
    done = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", f"{base}.public.pem", "-rawin",
                           "-in", f"{base}.json", "-sigfile", f"{base}.json.sig"], capture_output=True, text=True)
    assert done.returncode == 0 and "Signature Verified Successfully" in done.stdout
    again = run_cli(["acknowledge", folder, "--sign-key", made.signing_key, "--name", "Contoso IT"])
    assert again.exit_code == 2 and "never overwritten" in again.stderr


def test_tsa_stamped_acknowledgment(handed: Handed, folder: Path, tsa) -> None:
    result = run_cli(["acknowledge", folder, "--sign-key", handed.world.newprov_ssh, "--tsa", tsa.url,
                      "--tsa-ca", tsa.root_pem])
    assert result.exit_code == 0, result.output
    assert list((folder / "acknowledgments").glob("*.json.sig.tsr"))
    listed = run_cli(["verify", _archive(folder), "-i", handed.world.client.identity, "--tsa-ca", tsa.root_pem])
    assert re.search(r"PASS\s+acknowledgment 1\s+.*time-stamped 20\d\d-", listed.output), listed.output


def test_a_changed_transmittal_is_not_acknowledged_and_breaks_earlier_ones(handed: Handed, folder: Path) -> None:
    assert run_cli(["acknowledge", folder, "--sign-key", handed.world.newprov_ssh]).exit_code == 0
    path = folder / "transmittal.json"
    body = json.loads(path.read_text())
    body["items"] = body["items"][:1]  # someone removes an item after the fact
    path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    refused = run_cli(["acknowledge", folder, "--sign-key", handed.world.newprov_ssh, "--name", "X"])
    assert refused.exit_code == 1 and "will not acknowledge it" in refused.stderr
    listed = run_cli(["verify", _archive(folder), "-i", handed.world.client.identity])
    assert listed.exit_code == 1
    assert re.search(r"FAIL\s+transmittal\s+transmittal.json: signature", listed.output), listed.output


def test_an_acknowledgment_of_another_transmittal_fails(handed: Handed, folder: Path, tmp_path: Path) -> None:
    """An acknowledgment copied beside another handover's transmittal does not count for it."""
    assert run_cli(["acknowledge", folder, "--sign-key", handed.world.newprov_ssh]).exit_code == 0
    other = tmp_path / "other"
    shutil.copytree(folder, other)
    statement = next((other / "acknowledgments").glob("*.json"))
    doc = json.loads(statement.read_text())
    doc["transmittal"]["sha256"] = "0" * 64
    statement.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    listed = run_cli(["verify", _archive(other), "-i", handed.world.client.identity])
    assert listed.exit_code == 1
    assert re.search(r"FAIL\s+acknowledgment 1\s+.*signature does not verify", listed.output), listed.output
