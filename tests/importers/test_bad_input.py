"""Bad input: one line naming the file and the problem, exit 2, no traceback, no secret shown."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.redact import scan_bytes
from tests.helpers import random_password
from tests.importers import samples

SECRET = random_password("Leak")


def expect_error(res: Any, file: Path, *words: str) -> None:
    assert res.exit_code == 2, (res.exit_code, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"error: {file}"), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in res.stderr
    assert not scan_bytes((res.stdout + res.stderr).encode(), [SECRET])


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize(("name", "content", "words"), [
    ("people.csv", f"first,last,email\nAda,Lovelace,{SECRET}\n", ("unknown format", "a CSV file")),
    ("export.json", json.dumps({"users": [{"password": SECRET}]}), ("unknown format", "a JSON file")),
    ("blob.bin", b"\x00\x01\x02" + SECRET.encode() + b"\x00" * 20, ("unknown format", "binary")),
    ("latin1.csv", "name,password\nCaf\xe9,x\n".encode("latin-1"), ("not UTF-8",)),
    ("empty.csv", "", ("empty file",)),
    ("passwords.csv",  # IT Glue without its password column
     "id,organization,name,password_category,resource_type,username,url,otp_secret\n1,C,R,Net,Conf,admin,x,\n",
     ("IT Glue", "password")),
    ("passportal.csv", "Passportal ID,Credential,Username,Password,Folder(Optional),TOTP Secret\n1,Router,a,"
     f"{SECRET},,\n", ("Passportal", "Client Name")),
    ("broken.csv", "folder,favorite,type,name,notes,fields,reprompt,login_uri,login_username,login_password,"
     f'login_totp\nNet,,login,"Router,,,0,ssh://10.0.0.1,admin,{SECRET},\n', ("broken CSV",)),
    ("shifted.csv", "folder,favorite,type,name,notes,fields,reprompt,login_uri,login_username,login_password,"
     f"login_totp\nNet,,login,Router,,,0,ssh://10.0.0.1,admin,{SECRET},,extra\n", ("line 2", "12 fields")),
    ("broken.json", '{"encrypted": false, "items": [{"id": "x", "login": {"password": "' + SECRET + '"}',
     ("broken JSON", "line 1")),
    ("encrypted.json", json.dumps({"encrypted": True, "passwordProtected": True, "salt": "x", "data": "2.abc"}),
     ("password-protected",)),
    ("hudu.json", json.dumps({"asset_passwords": [{"name": "x", "password": SECRET}]}),
     ("asset_passwords[0]", "without 'id'")),
    ("keeper.json", json.dumps({"records": {"uid": "x"}}), ("'records' is not a list",)),
])
def test_bad_files(name: str, content: str | bytes, words: tuple[str, ...], tmp_path: Path, run_cli: Any) -> None:
    path = write(tmp_path / name, content)
    res = run_cli("import", path, "-o", tmp_path / "inv.yaml")
    expect_error(res, path, *words)
    assert not (tmp_path / "inv.yaml").exists()


def test_format_given_but_file_is_another(tmp_path: Path, run_cli: Any) -> None:
    sample = samples.write("hudu_json", tmp_path / "export")
    expect_error(run_cli("import", sample.path, "--format", "itglue_csv", "-o", tmp_path / "i.yaml"), sample.path,
                 "not IT Glue passwords.csv", "a JSON file")
    expect_error(run_cli("import", sample.path, "--format", "keeper_json", "-o", tmp_path / "i.yaml"), sample.path,
                 "does not look like Keeper JSON export")
    expect_error(run_cli("import", sample.path, "--format", "nosuch", "-o", tmp_path / "i.yaml"), sample.path,
                 "unknown --format 'nosuch'")


def test_broken_and_foreign_zip(tmp_path: Path, run_cli: Any) -> None:
    sample = samples.write("onepassword_1pux", tmp_path / "export")
    cut = write(tmp_path / "cut.1pux", sample.path.read_bytes()[:200])
    expect_error(run_cli("import", cut, "-o", tmp_path / "i.yaml"), cut, "broken zip")
    other = tmp_path / "photos.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("a.txt", "hello")
    expect_error(run_cli("import", other, "-o", tmp_path / "i.yaml"), other, "without export.data")
    garbled = tmp_path / "garbled.1pux"
    with zipfile.ZipFile(garbled, "w") as zf:
        zf.writestr("export.data", '{"accounts": [' + SECRET)
    expect_error(run_cli("import", garbled, "-o", tmp_path / "i.yaml"), garbled, "export.data is not valid JSON")


def test_kdbx_without_or_with_the_wrong_key(tmp_path: Path, run_cli: Any) -> None:
    sample = samples.write("keepass_kdbx", tmp_path / "export")
    out = tmp_path / "i.yaml"
    expect_error(run_cli("import", sample.path, "-o", out), sample.path, "master password")
    res = run_cli("import", sample.path, "-o", out, "--source-password", "env:WRONG", env={"WRONG": SECRET})
    expect_error(res, sample.path, "wrong master password")
    res = run_cli("import", sample.path, "-o", out, "--source-password", "env:UNSET_X", env={"UNSET_X": None})
    assert res.exit_code == 2 and "UNSET_X is not set" in res.stderr
    res = run_cli("import", sample.path, "-o", out, "--source-password", SECRET)
    assert res.exit_code == 2 and "looks like a literal secret" in res.stderr and SECRET not in res.stderr
    broken = write(tmp_path / "broken.kdbx", sample.path.read_bytes()[:300])
    res = run_cli("import", broken, "-o", out, "--source-password", "env:KP", env={"KP": sample.master})
    expect_error(res, broken, "KeePass")


def test_age_without_or_with_the_wrong_identity(tmp_path: Path, run_cli: Any) -> None:
    sample = samples.write("bitwarden_json", tmp_path / "export")
    sealed, key = samples.age_encrypt(sample.path, tmp_path / "keys")
    out = tmp_path / "i.yaml"
    expect_error(run_cli("import", sealed, "-o", out, env={"EVIDENCE_KIT_SOURCE_IDENTITY": None}), sealed,
                 "age-encrypted", "--identity")
    _, other = samples.age_encrypt(write(tmp_path / "x.txt", "x"), tmp_path / "other")
    expect_error(run_cli("import", sealed, "-o", out, "--identity", other), sealed, "does not open")
    expect_error(run_cli("import", sealed, "-o", out, "--identity", tmp_path / "nope.txt"), sealed, "identity")
    cut = write(tmp_path / "cut.json.age", sealed.read_bytes()[:120])
    expect_error(run_cli("import", cut, "-o", out, "--identity", key), cut, "broken age file")
    res = run_cli("import", sealed, "-o", out, "--client", samples.CONTOSO,
                  env={"EVIDENCE_KIT_SOURCE_IDENTITY": str(key)})
    assert res.exit_code == 0, res.stderr
    assert "identity:" not in out.read_text()  # given by the environment: left to the environment


def test_clients(tmp_path: Path, run_cli: Any) -> None:
    sample = samples.write("itglue_csv", tmp_path / "export")
    expect_error(run_cli("import", sample.path, "-o", tmp_path / "i.yaml"), sample.path,
                 "holds 2 clients", "'Contoso Ltd'", "'Fabrikam Inc'", "--client")
    expect_error(run_cli("import", sample.path, "-o", tmp_path / "i.yaml", "--client", "Northwind"), sample.path,
                 "no entry of client 'Northwind'", "'Contoso Ltd'")
    assert run_cli("import", sample.path, "-o", tmp_path / "i.yaml", "--client", "contoso ltd").exit_code == 0


def test_missing_source_and_bad_rules(tmp_path: Path, run_cli: Any) -> None:
    missing = tmp_path / "nope.csv"
    expect_error(run_cli("import", missing, "-o", tmp_path / "i.yaml"), missing, "file not found")
    sample = samples.write("keeper_json", tmp_path / "export")
    rules = write(tmp_path / "rules.yaml", "rules:\n  - {profile: no_such_profile, title: x}\n")
    expect_error(run_cli("import", sample.path, "-o", tmp_path / "i.yaml", "--rules", rules), rules,
                 "line 2", "unknown profile 'no_such_profile'")


def test_no_traceback_from_the_real_command(tmp_path: Path) -> None:
    path = write(tmp_path / "x.json", "{")
    proc = subprocess.run([sys.executable, "-m", "evidence_kit", "import", str(path), "-o", str(tmp_path / "i.yaml")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith(f"error: {path}: line 1, column 2: broken JSON")
    assert "Traceback" not in proc.stderr
