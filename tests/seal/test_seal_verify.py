"""seal -> verify -> extract through the CLI, in both encryption modes, with and without TSAs."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from evidence_kit.case.commitments import SCHEME
from evidence_kit.case.journal import read_entries
from evidence_kit.seal.model import SIGNATURE, TSR_FIRST
from tests.seal.helpers import ENABLE, PASSWORD, Keyset, make_keyset, run_cli, seal_args, tree
from tests.servers.tsa import TSA


def checks(result_output: str) -> dict[str, dict]:
    doc = json.loads(result_output)
    return {c["check"]: c for c in doc["checks"]}


def test_keys_generate_writes_private_files_0600_and_prints_public_parts(tmp_path: Path) -> None:
    result = run_cli(["keys", "generate", "--out", tmp_path / "k", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["recipient"].startswith("age1")
    assert doc["signer_fingerprint"].startswith("SHA256:") and len(doc["signer_fingerprint"]) == 7 + 64
    for name in ("age-identity.txt", "age-recipient.txt", "signing-key.pem", "signing-public.pem"):
        assert stat.S_IMODE((tmp_path / "k" / name).stat().st_mode) == 0o600
    assert (tmp_path / "k" / "age-recipient.txt").read_text().strip() == doc["recipient"]
    again = run_cli(["keys", "generate", "--out", tmp_path / "k"])
    assert again.exit_code == 2 and "never overwritten" in again.output


def test_seal_verify_extract_recipient_mode(case_dir: Path, keyset: Keyset, tmp_path: Path) -> None:
    out = tmp_path / "case.age"
    result = run_cli(seal_args(case_dir, keyset, out, "--json"))
    assert result.exit_code == 0, result.output
    sealed = json.loads(result.output.split("\nwarning")[0])
    assert sealed["size"] == out.stat().st_size
    assert "WITHOUT trusted time" in result.output
    receipt = json.loads(out.with_name("case.age.receipt.json").read_text())
    assert receipt["receipt"]["archive"]["size"] == out.stat().st_size
    assert receipt["receipt"]["case_id"] == sealed["case_id"]

    result = run_cli(["verify", out, "-i", keyset.identity, "--trust-key", keyset.sign_pub, "--json"])
    assert result.exit_code == 0, result.output
    c = checks(result.output)
    for name in ("decrypt", "archive", "bag", "signature", "signer", "journal", "receipt"):
        assert c[name]["status"] == "passed", (name, c[name])
    assert c["timestamp"]["status"] == "not checked"
    assert "without trusted time" in c["timestamp"]["detail"]

    plain = run_cli(["verify", out, "-i", keyset.identity])
    assert plain.exit_code == 0
    assert "ALL CHECKS PASSED" in plain.output and keyset.fingerprint in plain.output

    dest = tmp_path / "extracted"
    result = run_cli(["extract", out, "-o", dest, "-i", keyset.identity])
    assert result.exit_code == 0, result.output
    bag = dest / sealed["case_id"]
    original = sorted(str(p.relative_to(case_dir)) for p in case_dir.rglob("*"))
    assert sorted(str(p.relative_to(bag / "data")) for p in (bag / "data").rglob("*")) == original
    for path in case_dir.rglob("*"):
        if path.is_file():
            assert (bag / "data" / path.relative_to(case_dir)).read_bytes() == path.read_bytes()
    # extract refuses a non-empty folder
    again = run_cli(["extract", out, "-o", dest, "-i", keyset.identity])
    assert again.exit_code == 2 and "not empty" in again.output


def test_bag_info_and_commitments(case_dir: Path, keyset: Keyset, tmp_path: Path) -> None:
    out = tmp_path / "c.age"
    assert run_cli(seal_args(case_dir, keyset, out)).exit_code == 0
    dest = tmp_path / "x"
    assert run_cli(["extract", out, "-o", dest, "-i", keyset.identity]).exit_code == 0
    (bag,) = list(dest.iterdir())
    info = (bag / "bag-info.txt").read_text()
    for label in ("Source-Organization: Example MSP", "Contact-Name: J. Doe", "External-Description: Contoso Ltd",
                  "Bagging-Date:", "Payload-Oxum:", "Evidence-Kit-Case-Id:", "Evidence-Kit-Journal-Head:",
                  "Evidence-Kit-Version:"):
        assert label in info
    entries = list(read_entries(case_dir / "journal.jsonl"))
    assert f"Evidence-Kit-Journal-Head: {entries[-1]['hash']}" in info
    commitments = json.loads((bag / "commitments.json").read_text())
    assert {(c["target"], c["field"]) for c in commitments["credentials"]} == {
        ("core-router", "password"), ("core-router", "enable_secret"), ("edge-firewall", "password")}
    assert commitments["parameters"]["scheme"] == SCHEME
    assert "HMAC" in commitments["derivation"] or SCHEME == "scrypt"
    # the documented derivation reproduces a commitment with the standard library alone
    import hashlib
    import hmac

    params = commitments["parameters"]
    key = hashlib.scrypt(PASSWORD.encode(), salt=bytes.fromhex(params["salt"]), n=params["n"], r=params["r"],
                         p=params["p"], dklen=params["dklen"], maxmem=256 << 20)
    expected = hmac.new(key, b"evidence-kit commitment\0core-router\0password", "sha256").hexdigest()
    assert expected in {c["commitment"] for c in commitments["credentials"]}
    # the archive never holds the secret, in any file
    for path in bag.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes()


def test_check_credential(sealed: Path, keyset: Keyset) -> None:
    ok = run_cli(["verify", sealed, "-i", keyset.identity, "--check-credential", "core-router", "--json"],
                 input=PASSWORD + "\n")
    assert ok.exit_code == 0, ok.output
    assert "password tested on 'core-router'" in ok.output
    enable = run_cli(["verify", sealed, "-i", keyset.identity, "--check-credential", "core-router",
                      "--credential-field", "enable_secret", "--credential-env", "EK_TEST_SECRET"],
                     env={"EK_TEST_SECRET": ENABLE})
    assert enable.exit_code == 0, enable.output
    wrong = run_cli(["verify", sealed, "-i", keyset.identity, "--check-credential", "core-router"],
                    input="not-the-password\n")
    assert wrong.exit_code == 1
    assert "NOT the one tested" in wrong.output
    unknown = run_cli(["verify", sealed, "-i", keyset.identity, "--check-credential", "nope"], input="x\n")
    assert unknown.exit_code == 1 and "no credential commitment" in unknown.output


def test_passphrase_mode_roundtrip(case_dir: Path, keyset: Keyset, tmp_path: Path) -> None:
    out = tmp_path / "p.age"
    result = run_cli(["seal", case_dir, "--passphrase", "--sign-key", keyset.sign_key, "-o", out,
                      "--scrypt-work-factor", "10"], input="pass phrase\npass phrase\n")
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"age-encryption.org/v1\n-> scrypt ")
    good = run_cli(["verify", out, "--passphrase-env", "EK_TEST_PW", "--json"], env={"EK_TEST_PW": "pass phrase"})
    assert good.exit_code == 0, good.output
    assert "passphrase (scrypt)" in checks(good.output)["decrypt"]["detail"]
    bad = run_cli(["verify", out, "--passphrase"], input="wrong\n")
    assert bad.exit_code == 2 and "cannot open this archive" in bad.output
    with_identity = run_cli(["verify", out, "-i", keyset.identity])
    assert with_identity.exit_code == 2 and "passphrase" in with_identity.output


def test_passphrase_and_recipients_are_exclusive(case_dir: Path, keyset: Keyset, tmp_path: Path) -> None:
    result = run_cli(seal_args(case_dir, keyset, tmp_path / "x.age", "--passphrase-env", "EK_TEST_PW"),
                     env={"EK_TEST_PW": "pw"})
    assert result.exit_code == 2 and "exactly one (scrypt) recipient" in result.output
    assert not (tmp_path / "x.age").exists()


def test_case_recipients_are_always_added(tmp_path: Path, keyset: Keyset, other_keyset: Keyset) -> None:
    from tests.seal.helpers import make_case

    case = make_case(tmp_path / "case", recipients=(other_keyset.recipient,))
    out = tmp_path / "c.age"
    result = run_cli(seal_args(case, keyset, out, "--json"))
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.output)["recipients"]) == {keyset.recipient, other_keyset.recipient}
    # the client's own identity opens it
    assert run_cli(["verify", out, "-i", other_keyset.identity]).exit_code == 0
    passphrase = run_cli(["seal", case, "--passphrase-env", "EK_TEST_PW", "--sign-key", keyset.sign_key,
                          "-o", tmp_path / "p.age"], env={"EK_TEST_PW": "pw"})
    assert passphrase.exit_code == 2 and "client must always be one" in passphrase.output


def test_other_recipients_need_the_clients_authorization(tmp_path: Path, keyset: Keyset,
                                                         other_keyset: Keyset) -> None:
    from tests.seal.helpers import make_case

    # The case names the client (other_keyset); sealing also to keyset (a new provider, say)
    # without an authorization document in the case is refused before anything is written.
    case = make_case(tmp_path / "case", recipients=(other_keyset.recipient,), authorization=False)
    out = tmp_path / "c.age"
    refused = run_cli(seal_args(case, keyset, out))
    assert refused.exit_code == 2 and "written authorization" in refused.output
    assert not out.exists()
    # Sealing to the client alone needs no authorization.
    alone = run_cli(["seal", case, "--sign-key", keyset.sign_key, "-o", tmp_path / "client.age"])
    assert alone.exit_code == 0, alone.output


def test_seal_with_tsa_and_verify_chain(case_dir: Path, keyset: Keyset, tsa: TSA, tmp_path: Path) -> None:
    out = tmp_path / "t.age"
    result = run_cli(seal_args(case_dir, keyset, out, "--tsa", tsa.url, "--tsa-ca", tsa.root_pem))
    assert result.exit_code == 0, result.output
    assert "time-stamped" in result.output and "WITHOUT" not in result.output
    ok = run_cli(["verify", out, "-i", keyset.identity, "--tsa-ca", tsa.root_pem, "--json"])
    assert ok.exit_code == 0, ok.output
    c = checks(ok.output)
    assert c["timestamp 1"]["status"] == "passed" and "CN=Test TSA" in c["timestamp 1"]["detail"]
    assert c["timestamp 1 trust"]["status"] == "passed"
    assert "time-stamped" in c["receipt"]["detail"]
    untrusted = run_cli(["verify", out, "-i", keyset.identity, "--json"])
    assert untrusted.exit_code == 0
    assert checks(untrusted.output)["timestamp 1 trust"]["status"] == "not checked"


def test_unsorted_certificate_set_is_handled(case_dir: Path, keyset: Keyset, tsa: TSA, tsa_unsorted: TSA,
                                            tmp_path: Path) -> None:
    from rfc3161_client import decode_timestamp_response

    out = tmp_path / "u.age"
    result = run_cli(seal_args(case_dir, keyset, out, "--tsa", tsa_unsorted.url, "--tsa", tsa.url, "--json"))
    assert result.exit_code == 0, result.output
    stamps = json.loads(result.output.split("\nwarning")[0])["timestamps"]
    assert [s["certificate_set_resorted_to_parse"] for s in stamps] == [True, False]
    dest = tmp_path / "x"
    ok = run_cli(["extract", out, "-o", dest, "-i", keyset.identity, "--tsa-ca", tsa_unsorted.root_pem, "--json"])
    c = checks(ok.output)
    assert c["timestamp 1"]["status"] == "passed" and "re-sorted" in c["timestamp 1"]["detail"]
    assert c["timestamp 1 trust"]["status"] == "passed"
    # the second TSA is not anchored by this root: its trust check fails, the run exits 1
    assert c["timestamp 2 trust"]["status"] == "failed" or c["timestamp 2"]["status"] == "failed"
    assert ok.exit_code == 1
    (bag,) = list(dest.iterdir())
    raw = (bag / TSR_FIRST).read_bytes()
    with pytest.raises(Exception, match="InvalidSetOrdering"):
        decode_timestamp_response(raw)  # the TSA's bytes are kept as they were
    both = run_cli(["verify", out, "-i", keyset.identity, "--tsa-ca", tsa_unsorted.root_pem, "--tsa-ca", tsa.root_pem])
    assert both.exit_code == 0, both.output


def test_seal_refuses_a_broken_journal(case_dir: Path, keyset: Keyset, tmp_path: Path) -> None:
    journal = case_dir / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[4] = lines[4].replace(b'"run":1', b'"run":7')
    journal.write_bytes(b"".join(lines))
    out = tmp_path / "x.age"
    result = run_cli(seal_args(case_dir, keyset, out))
    assert result.exit_code == 2
    assert "entry seq 5 (line 5)" in result.output and "refusing to seal" in result.output
    assert not out.exists() and not (tmp_path / "x.age.partial").exists()


def test_seal_refuses_an_artifact_changed_after_capture(case_dir: Path, keyset: Keyset, tmp_path: Path) -> None:
    (png,) = case_dir.rglob("screen.png")
    data = bytearray(png.read_bytes())
    data[100] ^= 1
    png.write_bytes(bytes(data))
    out = tmp_path / "x.age"
    result = run_cli(seal_args(case_dir, keyset, out))
    assert result.exit_code == 2 and "screen.png" in result.output and "changed after capture" in result.output
    assert not out.exists() and tree(tmp_path) == tree(tmp_path)  # nothing partial left
    assert not list(tmp_path.glob("*.partial"))


def test_seal_refuses_to_overwrite_and_bad_keys(case_dir: Path, keyset: Keyset, tmp_path: Path) -> None:
    out = tmp_path / "x.age"
    out.write_bytes(b"keep me")
    assert run_cli(seal_args(case_dir, keyset, out)).exit_code == 2
    assert out.read_bytes() == b"keep me"
    bad = run_cli(["seal", case_dir, "-r", "age1notarecipient", "--sign-key", keyset.sign_key, "-o",
                   tmp_path / "y.age"])
    assert bad.exit_code == 2 and "not a valid age recipient" in bad.output
    rsa = tmp_path / "rsa.pem"
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa as rsa_mod

    rsa.write_bytes(rsa_mod.generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    wrong_kind = run_cli(["seal", case_dir, "-r", keyset.recipient, "--sign-key", rsa, "-o", tmp_path / "z.age"])
    assert wrong_kind.exit_code == 2 and "must be Ed25519" in wrong_kind.output
    assert run_cli(["seal", tmp_path / "nocase", "-r", keyset.recipient, "--sign-key", keyset.sign_key, "-o",
                    tmp_path / "w.age"]).exit_code == 2


def test_verify_usage_errors(sealed: Path, keyset: Keyset, tmp_path: Path) -> None:
    assert run_cli(["verify", sealed]).exit_code == 2
    assert run_cli(["verify", tmp_path / "missing.age", "-i", keyset.identity]).exit_code == 2
    both = run_cli(["verify", sealed, "-i", keyset.identity, "--passphrase-env", "EK_TEST_PW"],
                   env={"EK_TEST_PW": "x"})
    assert both.exit_code == 2


def test_wrong_identity_is_exit_2_with_a_clear_line(sealed: Path, other_keyset: Keyset) -> None:
    result = run_cli(["verify", sealed, "-i", other_keyset.identity])
    assert result.exit_code == 2
    assert "this identity cannot open this archive" in result.output
    assert "Traceback" not in result.output


def test_trust_key_other_signer_fails(sealed: Path, keyset: Keyset, other_keyset: Keyset) -> None:
    result = run_cli(["verify", sealed, "-i", keyset.identity, "--trust-key", other_keyset.sign_pub, "--json"])
    assert result.exit_code == 1
    assert checks(result.output)["signer"]["status"] == "failed"


def test_second_keyset_in_one_folder_is_refused(tmp_path: Path) -> None:
    make_keyset(tmp_path)
    with pytest.raises(Exception, match="never overwritten"):
        make_keyset(tmp_path)


def test_signature_file_is_raw_64_bytes(sealed: Path, keyset: Keyset, tmp_path: Path) -> None:
    dest = tmp_path / "x"
    assert run_cli(["extract", sealed, "-o", dest, "-i", keyset.identity]).exit_code == 0
    (bag,) = list(dest.iterdir())
    assert len((bag / SIGNATURE).read_bytes()) == 64


def test_unreachable_tsa_abandons_the_seal(case_dir: Path, keyset: Keyset, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "x.age"
    result = run_cli(seal_args(case_dir, keyset, out, "--tsa", f"http://127.0.0.1:{port}/tsa"))
    assert result.exit_code == 2 and "unreachable" in result.output and "nothing was sealed" in result.output
    assert not out.exists() and not list(tmp_path.glob("x.age*"))


def test_seal_refuses_a_torn_journal_tail(case_dir: Path, keyset: Keyset, tmp_path: Path) -> None:
    with open(case_dir / "journal.jsonl", "ab") as fh:
        fh.write(b'{"seq": 99, "torn')
    result = run_cli(seal_args(case_dir, keyset, tmp_path / "x.age"))
    assert result.exit_code == 2 and "torn final line" in result.output


def test_human_output_names_the_failed_check(sealed: Path, keyset: Keyset, other_keyset: Keyset) -> None:
    result = run_cli(["verify", sealed, "-i", keyset.identity, "--trust-key", other_keyset.sign_pub])
    assert result.exit_code == 1
    assert "FAIL  signer" in result.output and "VERIFICATION FAILED: signer" in result.output
