"""Helpers for the seal tests: cases through the real case API, keys, the CLI, archive surgery."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from evidence_kit.case.case import Case, CaseDetails
from evidence_kit.case.outcome import Outcome
from evidence_kit.cli import cli
from evidence_kit.seal import keys
from evidence_kit.secrets import Secret

PASSWORD = "correct horse battery staple"
ENABLE = "en4ble-s3cret"


@dataclass(frozen=True)
class Keyset:
    folder: Path
    identity: Path
    recipient: str
    sign_key: Path
    sign_pub: Path
    fingerprint: str


def make_keyset(folder: Path) -> Keyset:
    made = keys.generate(folder)
    return Keyset(folder, folder / keys.IDENTITY_FILE, made.recipient, folder / keys.SIGNING_KEY_FILE,
                  folder / keys.SIGNING_PUB_FILE, made.signer_fingerprint)


def make_case(root: Path, payload: bytes = b"", recipients: tuple[str, ...] = (),
              authorization: bool = True) -> Path:
    """A case with two targets, a few artifacts (text and binary) and credential commitments."""
    auth: Path | None = root.parent / "authorization-letter.txt"
    assert auth is not None
    auth.write_text("Contoso authorizes Example MSP to test the handed-over credentials.\n")
    if not authorization:
        auth = None
    case = Case.open_for_capture(
        root, CaseDetails(client="Contoso Ltd", provider="Example MSP", technician="J. Doe",
                          authorization=auth, recipients=recipients),
        run_facts={"host": {"hostname": "capture-host"}, "tool": {"name": "evidence-kit", "version": "test"}},
    )
    with case.target("core-router", kind="ssh", profile="cisco_ios", address="10.0.0.1:22",
                     secrets={"password": Secret(PASSWORD, "test"),
                              "enable_secret": Secret(ENABLE, "test")}) as session:
        session.add_artifact("transcript.txt", b"2026-11-25T08:00:00Z router# show version\nIOS 15.2\n",
                             kind="transcript", media_type="text/plain")
        session.add_artifact("screen.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8 + payload,
                             kind="screenshot", media_type="image/png", redact=False)
        session.finish(Outcome.LOGIN_OK, "prompt '#' reached")
    with case.target("edge-firewall", kind="web", profile="pfsense_web", address="https://10.0.0.254",
                     secrets={"password": Secret("fw-pass-1", "test")}) as session:
        session.add_artifact("navigation.json", b'{"url": "https://10.0.0.254/"}', kind="navigation",
                             media_type="application/json")
        session.finish(Outcome.AUTH_FAILED, "Wrong user name or password")
    case.close({"targets": 2})
    return root


def run_cli(args: list[str], input: str | None = None, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args], input=input, env=env, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        raise AssertionError("CLI raised instead of exiting cleanly:\n" + "".join(
            traceback.format_exception(result.exception)))
    return result


def seal_args(case: Path, keyset: Keyset, out: Path, *extra: Any) -> list[str]:
    return ["seal", str(case), "-r", keyset.recipient, "--sign-key", str(keyset.sign_key), "-o", str(out),
            *map(str, extra)]


def decrypt_to_dir(archive: Path, keyset: Keyset, dest: Path) -> Path:
    """What an insider holding a recipient key can do: age -d | tar -x (real CLIs). Returns the bag."""
    dest.mkdir(parents=True, exist_ok=True)
    age = subprocess.run(["age", "-d", "-i", str(keyset.identity), str(archive)], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=age.stdout, check=True)
    (bag,) = [p for p in dest.iterdir() if p.is_dir()]
    return bag


def tar_and_encrypt(bag: Path, out: Path, recipient: str) -> None:
    """Re-pack a bag folder as tar and encrypt it with the real age CLI."""
    tar = subprocess.run(["tar", "-c", "-C", str(bag.parent), bag.name], capture_output=True, check=True)
    subprocess.run(["age", "-r", recipient, "-o", str(out)], input=tar.stdout, check=True)


def remanifest(bag: Path) -> None:
    """Recompute every manifest and tag manifest of a bag with the bagit library (an attacker's tool)."""
    import bagit

    b = bagit.Bag(str(bag))
    b.save(manifests=True)


def encrypt_tar_bytes(tar_bytes: bytes, out: Path, recipient: str) -> None:
    subprocess.run(["age", "-r", recipient, "-o", str(out)], input=tar_bytes, check=True)


def hostile_tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def copy(src: Path, dest: Path) -> Path:
    shutil.copyfile(src, dest)
    receipt = src.with_name(src.name + ".receipt.json")
    if receipt.exists():
        shutil.copyfile(receipt, dest.with_name(dest.name + ".receipt.json"))
    return dest


def tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))

