"""Property-based: random bytes and random mutations never crash verify/extract, and never pass."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.seal.helpers import Keyset, run_cli
from tests.servers.tsa import TSA

# EVIDENCE_KIT_FUZZ_EXAMPLES raises the number of examples for a longer hunt.
SETTINGS = settings(max_examples=int(os.environ.get("EVIDENCE_KIT_FUZZ_EXAMPLES", "40")), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _mutate(data: bytes, draw: st.DataObject) -> bytes:
    kind = draw.draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "splice", "append"]))
    pos = draw.draw(st.integers(0, len(data) - 1))
    if kind == "flip":
        bit = draw.draw(st.integers(0, 7))
        return data[:pos] + bytes([data[pos] ^ (1 << bit)]) + data[pos + 1:]
    if kind == "set":
        value = draw.draw(st.integers(0, 255).filter(lambda v: v != data[pos]))
        return data[:pos] + bytes([value]) + data[pos + 1:]
    if kind == "insert":
        return data[:pos] + draw.draw(st.binary(min_size=1, max_size=64)) + data[pos:]
    if kind == "delete":
        n = draw.draw(st.integers(1, 64))
        return data[:pos] + data[pos + n:]
    if kind == "truncate":
        return data[:pos]
    if kind == "splice":
        other = draw.draw(st.integers(0, len(data) - 1))
        n = draw.draw(st.integers(1, 512))
        return data[:pos] + data[other:other + n] + data[pos + n:]
    return data + draw.draw(st.binary(min_size=1, max_size=64))


def _no_traceback(result_output: str) -> None:
    assert "Traceback" not in result_output
    assert "unexpected problem" not in result_output, result_output


@SETTINGS
@given(junk=st.binary(max_size=4096))
def test_random_bytes(junk: bytes, keyset: Keyset) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "junk.age"
        archive.write_bytes(junk)
        for args in (["verify", archive], ["extract", archive, "-o", Path(tmp) / "out"]):
            result = run_cli([*args, "-i", keyset.identity])
            _no_traceback(result.output)
            assert result.exit_code in (1, 2), result.output


@SETTINGS
@given(draw=st.data())
def test_mutated_ciphertext_never_passes(draw: st.DataObject, sealed: Path, keyset: Keyset) -> None:
    data = sealed.read_bytes()
    mutated = _mutate(data, draw)
    if mutated == data:
        return
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "m.age"
        archive.write_bytes(mutated)
        shutil.copyfile(sealed.with_name(sealed.name + ".receipt.json"), Path(tmp) / "m.age.receipt.json")
        command = draw.draw(st.sampled_from(["verify", "extract"]))
        args = ["verify", archive] if command == "verify" else ["extract", archive, "-o", Path(tmp) / "out"]
        result = run_cli([*args, "-i", keyset.identity])
        _no_traceback(result.output)
        assert result.exit_code == 1, result.output  # the receipt beside it proves the archive changed


def _tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@SETTINGS
@given(draw=st.data())
def test_mutated_plaintext_tar_never_passes_with_changed_content(draw: st.DataObject, sealed: Path,
                                                                  keyset: Keyset, tsa: TSA) -> None:
    """Mutate the tar inside (as an insider could) and re-encrypt: either a clean failure, or -- when the
    mutation only touched bytes tar ignores (block padding, after the end marker) -- a pass that
    extracted exactly the original files. Every trust anchor is given (--tsa-ca): without it the
    time-stamp token's own signature is reported "not checked", so a changed token could pass."""
    import pyrage
    from pyrage import x25519

    identity = x25519.Identity.from_str(keyset.identity.read_text().strip().splitlines()[-1])
    plain = pyrage.decrypt(sealed.read_bytes(), [identity])
    mutated = _mutate(plain, draw)
    with tempfile.TemporaryDirectory() as tmp:
        reference = Path(tmp) / "reference"
        assert run_cli(["extract", sealed, "-o", reference, "-i", keyset.identity]).exit_code == 0
        archive = Path(tmp) / "p.age"
        archive.write_bytes(pyrage.encrypt(mutated, [identity.to_public()]))
        out = Path(tmp) / "out"
        result = run_cli(["extract", archive, "-o", out, "-i", keyset.identity, "--tsa-ca", tsa.root_pem, "--json"])
        _no_traceback(result.output)
        assert result.exit_code in (0, 1), result.output
        doc = json.loads(result.output)
        if result.exit_code == 0:
            assert doc["ok"] and _tree_digest(out) == _tree_digest(reference)
        else:
            assert not doc["ok"] and any(c["status"] == "failed" for c in doc["checks"])
