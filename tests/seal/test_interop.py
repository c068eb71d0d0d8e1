"""Interop with the real standard tools: age, age-keygen, ssh-keygen, bagit.py, openssl."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.seal.helpers import Keyset, run_cli, seal_args
from tests.seal.ptyrun import run_with_pty
from tests.servers.tsa import TSA

DOC = Path(__file__).resolve().parents[2] / "docs" / "verify-without-evidence-kit.md"


def _run(argv: list, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=120, **kw)


def documented_block() -> str:
    text = DOC.read_text()
    block = text.split("<!-- tested:start -->", 1)[1].split("<!-- tested:end -->", 1)[0]
    return re.search(r"```sh\n(.*?)```", block, re.S).group(1)  # type: ignore[union-attr]


@pytest.mark.parametrize("which", ["tsa", "tsa_unsorted"])
def test_documented_commands_run(which: str, request: pytest.FixtureRequest, case_dir: Path, keyset: Keyset,
                                 tmp_path: Path) -> None:
    """The exact commands of docs/verify-without-evidence-kit.md pass on a fresh seal, and catch a change."""
    server: TSA = request.getfixturevalue(which)
    out = tmp_path / "case.age"
    assert run_cli(seal_args(case_dir, keyset, out, "--tsa", server.url)).exit_code == 0
    env = {**os.environ, "ARCHIVE": str(out), "IDENTITY": str(keyset.identity), "TSA_CA": str(server.root_pem),
           "WORK": str(tmp_path / "work")}
    script = "set -euo pipefail\n" + documented_block()
    done = _run(["bash", "-c", script], env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Signature Verified Successfully" in done.stdout
    assert "Verification: OK" in done.stdout
    fingerprint = keyset.fingerprint.removeprefix("SHA256:")
    assert fingerprint in done.stdout
    head = re.search(r"chain intact, head ([0-9a-f]{64})", done.stdout).group(1)  # type: ignore[union-attr]
    assert f"Evidence-Kit-Journal-Head: {head}" in done.stdout

    # The same tools catch a change: one payload byte, then the signature, then the time-stamp.
    (bag,) = list((tmp_path / "work").iterdir())
    (png,) = bag.rglob("screen.png")
    png.write_bytes(png.read_bytes()[:-1] + b"X")
    assert _run(["bagit.py", "--validate", bag]).returncode != 0
    sig = bag / "tagmanifest-sha256.txt.sig"
    original_sig = sig.read_bytes()
    sig.write_bytes(bytes([original_sig[0] ^ 1]) + original_sig[1:])
    bad = _run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "signer-public.pem", "-rawin", "-in",
                "tagmanifest-sha256.txt", "-sigfile", "tagmanifest-sha256.txt.sig"], cwd=bag)
    assert bad.returncode != 0
    ts = _run(["openssl", "ts", "-verify", "-data", sig, "-in", bag / "tagmanifest-sha256.txt.sig.tsr",
               "-CAfile", server.root_pem])
    assert ts.returncode != 0


def test_age_cli_opens_a_passphrase_archive(case_dir: Path, keyset: Keyset, tmp_path: Path) -> None:
    """Our own scrypt + STREAM writer produces what the real age CLI decrypts (through a pty)."""
    out = tmp_path / "p.age"
    assert run_cli(["seal", case_dir, "--passphrase-env", "EK_TEST_PW", "--sign-key", keyset.sign_key, "-o", out,
                    "--scrypt-work-factor", "12"], env={"EK_TEST_PW": "s3cure pass"}).exit_code == 0
    tar_path = tmp_path / "p.tar"
    code, output = run_with_pty(["age", "-d", "-o", str(tar_path), str(out)], ["s3cure pass"])
    assert code == 0, output
    listing = _run(["tar", "-t", "-f", tar_path]).stdout.splitlines()
    assert any(name.endswith("/data/journal.jsonl") for name in listing)
    assert any(name.endswith("/tagmanifest-sha256.txt.sig") for name in listing)
    code, output = run_with_pty(["age", "-d", "-o", str(tmp_path / "no.tar"), str(out)], ["wrong"])
    assert code != 0 and "incorrect passphrase" in output.lower()


def test_archive_encrypted_by_age_cli_with_a_passphrase_verifies(sealed: Path, keyset: Keyset,
                                                                 tmp_path: Path) -> None:
    """Our streaming scrypt decryptor reads what ``age -p`` writes (work factor 18, age's default)."""
    plain = tmp_path / "bag.tar"
    assert _run(["age", "-d", "-i", keyset.identity, "-o", plain, sealed]).returncode == 0
    again = tmp_path / "again.age"
    code, output = run_with_pty(["age", "-p", "-o", str(again), str(plain)], ["pw from age", "pw from age"])
    assert code == 0, output
    result = run_cli(["verify", again, "--passphrase-env", "EK_TEST_PW", "--no-receipt", "--json"],
                     env={"EK_TEST_PW": "pw from age"})
    assert result.exit_code == 0, result.output


def test_keys_from_age_keygen_and_openssl_genpkey(case_dir: Path, tmp_path: Path) -> None:
    identity = tmp_path / "id.txt"
    assert _run(["age-keygen", "-o", identity]).returncode == 0
    recipient = _run(["age-keygen", "-y", identity]).stdout.strip()
    sign_key = tmp_path / "sign.pem"
    sign_pub = tmp_path / "sign.pub.pem"
    assert _run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", sign_key]).returncode == 0
    assert _run(["openssl", "pkey", "-in", sign_key, "-pubout", "-out", sign_pub]).returncode == 0
    recipients_file = tmp_path / "recipients.txt"
    recipients_file.write_text(f"# the client\n{recipient}\n")
    out = tmp_path / "k.age"
    result = run_cli(["seal", case_dir, "-r", recipients_file, "--sign-key", sign_key, "-o", out])
    assert result.exit_code == 0, result.output
    ok = run_cli(["verify", out, "-i", identity, "--trust-key", sign_pub, "--json"])
    assert ok.exit_code == 0, ok.output
    assert _run(["age", "-d", "-i", identity, "-o", tmp_path / "k.tar", out]).returncode == 0


def test_ssh_keys_as_recipients_identities_and_signer(case_dir: Path, tmp_path: Path) -> None:
    for kind, bits in (("ed25519", []), ("rsa", ["-b", "2048"])):
        assert _run(["ssh-keygen", "-q", "-t", kind, *bits, "-N", "", "-C", f"tech-{kind}",
                     "-f", tmp_path / f"id_{kind}"]).returncode == 0
    out = tmp_path / "s.age"
    result = run_cli(["seal", case_dir, "-r", (tmp_path / "id_ed25519.pub").read_text().strip(),
                      "-r", tmp_path / "id_rsa.pub", "--sign-key", tmp_path / "id_ed25519", "-o", out, "--json"])
    assert result.exit_code == 0, result.output
    assert {r.split()[0] for r in json.loads(result.output.split("\nwarning")[0])["recipients"]} == {
        "ssh-ed25519", "ssh-rsa"}
    for kind in ("ed25519", "rsa"):
        ok = run_cli(["verify", out, "-i", tmp_path / f"id_{kind}", "--trust-key", tmp_path / "id_ed25519.pub"])
        assert ok.exit_code == 0, (kind, ok.output)
        assert _run(["age", "-d", "-i", tmp_path / f"id_{kind}", "-o", tmp_path / f"{kind}.tar", out]).returncode == 0
    assert _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", tmp_path / "stranger"]).returncode == 0
    wrong = run_cli(["verify", out, "-i", tmp_path / "stranger", "--no-receipt"])
    assert wrong.exit_code == 2 and "cannot open this archive" in wrong.output


def test_bagit_library_validates_an_extracted_bag(sealed: Path, keyset: Keyset, tmp_path: Path) -> None:
    import bagit

    dest = tmp_path / "x"
    assert run_cli(["extract", sealed, "-o", dest, "-i", keyset.identity]).exit_code == 0
    (bag,) = list(dest.iterdir())
    loaded = bagit.Bag(str(bag))
    loaded.validate()
    assert set(loaded.algorithms) == {"sha256", "sha512"}
    assert shutil.which("bagit.py")
