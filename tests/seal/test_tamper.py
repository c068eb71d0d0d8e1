"""Tamper matrix and hostile archives: each must fail verify with exit 1, naming the right check."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from evidence_kit.seal.model import SIGNATURE, SIGNER_PEM, TSR_FIRST
from tests.seal.helpers import (
    Keyset,
    copy,
    decrypt_to_dir,
    encrypt_tar_bytes,
    hostile_tar,
    remanifest,
    run_cli,
    tar_and_encrypt,
    tree,
)
from tests.servers.tsa import TSA


def verify_json(archive: Path, keyset: Keyset, *extra: object) -> tuple[int, dict[str, dict]]:
    result = run_cli(["verify", archive, "-i", keyset.identity, "--json", *map(str, extra)])
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        return 2, {}
    doc = json.loads(result.output)
    assert doc["ok"] is (result.exit_code == 0)
    return result.exit_code, {c["check"]: c for c in doc["checks"]}


def failed(checks: dict[str, dict]) -> set[str]:
    return {name for name, c in checks.items() if c["status"] == "failed"}


def test_untouched_archive_passes(sealed: Path, keyset: Keyset, tsa: TSA) -> None:
    code, checks = verify_json(sealed, keyset, "--trust-key", keyset.sign_pub, "--tsa-ca", tsa.root_pem)
    assert code == 0, checks
    assert not failed(checks)


def test_flipped_byte_anywhere_in_the_ciphertext(sealed: Path, keyset: Keyset, tmp_path: Path) -> None:
    data = sealed.read_bytes()
    header_end = data.index(b"\n---") + 1
    positions = sorted({0, 10, 25, 40, 60, 90, header_end - 5, header_end + 2, header_end + 40, header_end + 70,
                        header_end + 200, len(data) // 3, len(data) // 2, len(data) - 17, len(data) - 1})
    for pos in positions:
        bad = copy(sealed, tmp_path / f"flip{pos}.age")
        mutated = bytearray(data)
        mutated[pos] ^= 0x20
        bad.write_bytes(bytes(mutated))
        code, checks = verify_json(bad, keyset)
        assert code == 1, (pos, checks)
        assert checks["decrypt"]["status"] == "failed", (pos, checks["decrypt"])


def test_flipped_payload_byte_without_receipt_still_fails_decrypt(sealed: Path, keyset: Keyset,
                                                                   tmp_path: Path) -> None:
    data = bytearray(sealed.read_bytes())
    data[len(data) // 2] ^= 1
    bad = tmp_path / "bad.age"
    bad.write_bytes(bytes(data))
    code, checks = verify_json(bad, keyset)
    assert code == 1 and "failed authentication" in checks["decrypt"]["detail"]
    assert checks["receipt"]["status"] == "not checked"


@pytest.mark.parametrize("keep", [0.99, 0.5, 0.2])
def test_truncated_archive(sealed: Path, keyset: Keyset, tmp_path: Path, keep: float) -> None:
    bad = copy(sealed, tmp_path / "trunc.age")
    data = sealed.read_bytes()
    bad.write_bytes(data[: int(len(data) * keep)])
    code, checks = verify_json(bad, keyset)
    assert code == 1 and checks["decrypt"]["status"] == "failed"
    assert checks["receipt"]["status"] == "failed"


def _insider(sealed: Path, keyset: Keyset, tmp_path: Path) -> Path:
    return decrypt_to_dir(sealed, keyset, tmp_path / "insider")


def test_changed_artifact_remanifested_and_reencrypted_is_caught_by_the_signature(
        sealed: Path, keyset: Keyset, tmp_path: Path) -> None:
    bag = _insider(sealed, keyset, tmp_path)
    (transcript,) = bag.rglob("transcript.txt")
    transcript.write_bytes(transcript.read_bytes().replace(b"IOS 15.2", b"IOS 15.3"))
    remanifest(bag)
    assert subprocess.run(["bagit.py", "--validate", str(bag)], capture_output=True).returncode == 0
    out = tmp_path / "forged.age"
    tar_and_encrypt(bag, out, keyset.recipient)
    code, checks = verify_json(out, keyset)
    assert code == 1
    assert checks["bag"]["status"] == "passed"  # the forger made a consistent bag...
    assert checks["signature"]["status"] == "failed"  # ...but cannot sign it
    assert checks["journal"]["status"] == "failed"  # and the journal recorded the original hash


def test_resigned_with_another_key_is_caught_by_trust_key(sealed: Path, keyset: Keyset, other_keyset: Keyset,
                                                          tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    bag = _insider(sealed, keyset, tmp_path)
    key = serialization.load_pem_private_key(other_keyset.sign_key.read_bytes(), None)
    (bag / SIGNATURE).write_bytes(key.sign((bag / "tagmanifest-sha256.txt").read_bytes()))  # type: ignore[union-attr]
    (bag / SIGNER_PEM).write_bytes(other_keyset.sign_pub.read_bytes())
    out = tmp_path / "resigned.age"
    tar_and_encrypt(bag, out, keyset.recipient)
    code, checks = verify_json(out, keyset, "--trust-key", keyset.sign_pub, "--no-receipt")
    assert code == 1
    assert checks["signature"]["status"] == "passed"
    assert checks["signer"]["status"] == "failed"
    assert other_keyset.fingerprint in checks["signer"]["detail"]
    assert checks["timestamp 1"]["status"] == "failed"  # the TSA stamped the original signature


def test_file_added_to_payload(sealed: Path, keyset: Keyset, tmp_path: Path) -> None:
    bag = _insider(sealed, keyset, tmp_path)
    (bag / "data" / "artifacts" / "planted.txt").write_text("planted")
    out = tmp_path / "added.age"
    tar_and_encrypt(bag, out, keyset.recipient)
    code, checks = verify_json(out, keyset, "--no-receipt")
    assert code == 1 and "bag" in failed(checks)
    assert "planted.txt" in checks["bag"]["detail"]


def test_tag_file_added_outside_payload(sealed: Path, keyset: Keyset, tmp_path: Path) -> None:
    bag = _insider(sealed, keyset, tmp_path)
    (bag / "notes.txt").write_text("unsigned addition")
    out = tmp_path / "tag.age"
    tar_and_encrypt(bag, out, keyset.recipient)
    code, checks = verify_json(out, keyset, "--no-receipt")
    assert code == 1 and "not covered by the signature" in checks["bag"]["detail"]


def test_file_removed(sealed: Path, keyset: Keyset, tmp_path: Path) -> None:
    bag = _insider(sealed, keyset, tmp_path)
    (png,) = bag.rglob("screen.png")
    png.unlink()
    out = tmp_path / "removed.age"
    tar_and_encrypt(bag, out, keyset.recipient)
    code, checks = verify_json(out, keyset, "--no-receipt")
    assert code == 1 and {"bag", "journal"} <= failed(checks)


def test_timestamp_removed(sealed: Path, keyset: Keyset, tmp_path: Path) -> None:
    bag = _insider(sealed, keyset, tmp_path)
    (bag / TSR_FIRST).unlink()
    out = tmp_path / "nots.age"
    tar_and_encrypt(bag, out, keyset.recipient)
    code, checks = verify_json(out, keyset, "--no-receipt")
    assert code == 1 and failed(checks) == {"timestamp"}


def test_timestamp_for_other_data(sealed: Path, keyset: Keyset, tsa: TSA, tmp_path: Path) -> None:
    from evidence_kit.seal.timestamp import request

    bag = _insider(sealed, keyset, tmp_path)
    der, _ = request(tsa.url, b"some other signature")
    (bag / TSR_FIRST).write_bytes(der)
    out = tmp_path / "otherts.age"
    tar_and_encrypt(bag, out, keyset.recipient)
    code, checks = verify_json(out, keyset, "--no-receipt", "--tsa-ca", tsa.root_pem)
    assert code == 1 and failed(checks) == {"timestamp 1"}
    assert "other data" in checks["timestamp 1"]["detail"]


def _resign(bag: Path, keyset: Keyset) -> None:
    """The signer itself re-manifests and re-signs (the journal must still catch edits)."""
    from cryptography.hazmat.primitives import serialization

    remanifest(bag)
    key = serialization.load_pem_private_key(keyset.sign_key.read_bytes(), None)
    (bag / SIGNATURE).write_bytes(key.sign((bag / "tagmanifest-sha256.txt").read_bytes()))  # type: ignore[union-attr]
    (bag / TSR_FIRST).unlink()


@pytest.mark.parametrize("how", ["edit", "reorder", "drop-last"])
def test_journal_tampering_is_caught_even_when_re_signed(how: str, sealed: Path, keyset: Keyset,
                                                         tmp_path: Path) -> None:
    bag = _insider(sealed, keyset, tmp_path)
    journal = bag / "data" / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    if how == "edit":
        lines[-2] = lines[-2].replace(b"auth_failed", b"login_ok")
        assert b"login_ok" in lines[-2]
    elif how == "reorder":
        lines[3], lines[4] = lines[4], lines[3]
    else:
        lines = lines[:-1]
    journal.write_bytes(b"".join(lines))
    _resign(bag, keyset)
    out = tmp_path / "journal.age"
    tar_and_encrypt(bag, out, keyset.recipient)
    code, checks = verify_json(out, keyset, "--no-receipt")
    assert code == 1
    assert "journal" in failed(checks), checks
    assert checks["signature"]["status"] == "passed"
    detail = checks["journal"]["detail"]
    assert {"edit": "entry seq", "reorder": "entry seq 4", "drop-last": "sealed head"}[how] in detail


# --------------------------------------------------------------------------- hostile archives


def _member(name: str, data: bytes = b"x", kind: bytes = tarfile.REGTYPE, link: str = "",
            size: int | None = None) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    if size is not None:
        info.size = size
    return info, (data if kind == tarfile.REGTYPE else None)


HOSTILE = {
    "absolute": [_member("bag/bagit.txt"), _member("{outside}/abs-evil")],
    "dotdot": [_member("bag/bagit.txt"), _member("bag/data/../../../{rel_outside}/dotdot-evil")],
    "symlink": [_member("bag/bagit.txt"), _member("bag/data/link", kind=tarfile.SYMTYPE, link="{outside}"),
                _member("bag/data/link/through-link")],
    "hardlink": [_member("bag/bagit.txt"), _member("bag/data/hard", kind=tarfile.LNKTYPE, link="/etc/passwd")],
    "device": [_member("bag/bagit.txt"), _member("bag/data/dev", kind=tarfile.CHRTYPE)],
    "duplicate": [_member("bag/bagit.txt"), _member("bag/bagit.txt", b"second")],
    "second-top-folder": [_member("bag/bagit.txt"), _member("other/evil")],
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_archives_are_refused(kind: str, keyset: Keyset, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    members = []
    for info, data in HOSTILE[kind]:
        name = info.name.replace("{outside}", str(outside)).replace("{rel_outside}", "outside")
        info.name = name
        info.linkname = info.linkname.replace("{outside}", str(outside))
        members.append((info, data))
    archive = tmp_path / f"{kind}.age"
    encrypt_tar_bytes(hostile_tar(members), archive, keyset.recipient)
    dest = tmp_path / "work" / "dest"
    before = tree(tmp_path)
    result = run_cli(["extract", archive, "-o", dest, "-i", keyset.identity, "--json"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.output)
    checks = {c["check"]: c for c in doc["checks"]}
    assert checks["archive"]["status"] == "failed" and "refused" in checks["archive"]["detail"]
    assert checks["decrypt"]["status"] == "passed"
    assert list(outside.iterdir()) == []
    after = [p for p in tree(tmp_path) if not p.startswith("work")]
    assert after == [p for p in before if not p.startswith("work")]
    assert not (dest / "bag" / "data" / "link").is_symlink()
    code, vchecks = verify_json(archive, keyset)
    assert code == 1 and vchecks["archive"]["status"] == "failed"


def test_member_claiming_more_than_the_archive_holds(keyset: Keyset, tmp_path: Path) -> None:
    info = tarfile.TarInfo("bag/data/huge.bin")
    info.size = 10 * 1024**3
    header = info.tobuf(format=tarfile.PAX_FORMAT)
    archive = tmp_path / "huge.age"
    encrypt_tar_bytes(header + b"\0" * 4096, archive, keyset.recipient)
    dest = tmp_path / "dest"
    result = run_cli(["extract", archive, "-o", dest, "-i", keyset.identity, "--json"])
    assert result.exit_code == 1
    checks = {c["check"]: c for c in json.loads(result.output)["checks"]}
    assert "more than the archive holds" in checks["archive"]["detail"]
    assert not (dest / "bag" / "data" / "huge.bin").exists()


def test_member_over_the_size_limit(sealed: Path, keyset: Keyset, tmp_path: Path) -> None:
    tar_bytes = hostile_tar([_member("bag/bagit.txt"), _member("bag/data/big.bin", b"\1" * 50_000)])
    archive = tmp_path / "big.age"
    encrypt_tar_bytes(tar_bytes, archive, keyset.recipient)
    result = run_cli(["verify", archive, "-i", keyset.identity, "--max-member-size", "10000"])
    assert result.exit_code == 1 and "more than the limit" in result.output


def test_not_an_age_file_and_not_a_tar(keyset: Keyset, tmp_path: Path) -> None:
    junk = tmp_path / "junk.age"
    junk.write_bytes(b"PK\x03\x04 definitely not age")
    code, checks = verify_json(junk, keyset)
    assert code == 1 and checks["decrypt"]["status"] == "failed"
    notar = tmp_path / "notar.age"
    encrypt_tar_bytes(b"hello, not a tar stream" * 100, notar, keyset.recipient)
    code, checks = verify_json(notar, keyset)
    assert code == 1 and checks["archive"]["status"] == "failed"
