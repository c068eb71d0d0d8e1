"""Secret references resolve lazily, once, and never show their value."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence_kit.errors import SecretError
from evidence_kit.secrets import Secret, SecretRef, SecretResolver, parse_secret_ref


def test_secret_never_shows_itself() -> None:
    s = Secret("hunter2-value", "env:X for t")
    for shown in (repr(s), str(s), f"{s}", f"{s!r}", f"{s}", str([s]), str({"k": s})):
        assert "hunter2" not in shown
    assert s.reveal() == "hunter2-value"
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(s)


def test_resolves_once_and_lazily(tmp_path: Path) -> None:
    calls: list[str] = []

    def prompt(label: str) -> str:
        calls.append(label)
        return "typed-secret"

    pw = tmp_path / "pw.txt"
    pw.write_text("from-file\nignored second line\n")
    env = {"PW": "from-env"}
    r = SecretResolver(prompt=prompt, environ=env, base_dir=tmp_path)
    assert r.resolve(parse_secret_ref("env:PW"), "a").reveal() == "from-env"
    env["PW"] = "changed"
    assert r.resolve(parse_secret_ref("env:PW"), "b").reveal() == "from-env"  # once
    assert r.resolve(parse_secret_ref("file:pw.txt"), "c").reveal() == "from-file"
    assert calls == []  # nothing prompted until a prompt reference is resolved
    assert r.resolve(SecretRef("prompt"), "t1.password").reveal() == "typed-secret"
    r.resolve(SecretRef("prompt"), "t1.password")
    assert calls == ["t1.password: "]
    assert set(r.known_values()) == {"from-env", "from-file", "typed-secret"}


def test_missing_sources_are_clear() -> None:
    r = SecretResolver(environ={})
    with pytest.raises(SecretError, match="environment variable NOPE is not set"):
        r.resolve(parse_secret_ref("env:NOPE"), "target 'r1' field 'password'")
    with pytest.raises(SecretError, match="no terminal"):
        r.resolve(SecretRef("prompt"), "x")
    with pytest.raises(SecretError, match="KeePass database"):
        r.resolve(parse_secret_ref("keepass:G/T"), "x")


def test_keepass_lookup(tmp_path: Path) -> None:
    from pykeepass import create_database

    db_path = tmp_path / "vault.kdbx"
    db = create_database(str(db_path), password="master-pw")
    group = db.add_group(db.root_group, "Network")
    db.add_entry(group, "Core Router", "admin", "kp-router-secret")
    db.save()
    from evidence_kit.secrets import KeePassSource

    r = SecretResolver(keepass=KeePassSource(db_path, parse_secret_ref("env:KP")), environ={"KP": "master-pw"})
    assert r.resolve(parse_secret_ref("keepass:Network/Core Router"), "x").reveal() == "kp-router-secret"
    with pytest.raises(SecretError, match="no KeePass entry"):
        r.resolve(parse_secret_ref("keepass:Network/Missing"), "y")


@pytest.mark.parametrize("value", ["hunter2", "P@ss:word", "ENV:X", "", "file:", 12345])
def test_literals_and_malformed_refused(value: object) -> None:
    with pytest.raises(ValueError) as info:
        parse_secret_ref(value)
    if isinstance(value, str) and value:
        assert value not in str(info.value) or value in ("file:",)


# --- source references (evidence_kit/importers/resolve.py): SCHEME:ID/FIELD -------------------


@pytest.mark.parametrize("value", [
    "bitwarden:5b1e7c0a-3c1d-4a57-9d41-2f0b8c9e9f2d/password", "itglue:4410931/totp", "hudu:12/password",
    "passportal:880100/password", "kdbx:2f0c6a1e-edd0-11f1-96c9-02fc00000001/fields/Enable secret",
    "onepassword:fkruyzrldvizuqlnavfj3gltfe/totp", "keeper:Xk3-_pQ9aZ/password",
])
def test_source_references_parse(value: str) -> None:
    ref = parse_secret_ref(value)
    assert ref.text == value and ref.scheme == value.split(":", 1)[0]


@pytest.mark.parametrize("value", ["bitwarden:abc", "bitwarden:/password", "bitwarden:abc/notes",
                                   "itglue:12/fields/", "keeper:x/Password"])
def test_malformed_source_references_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"must be .*:ID/FIELD"):
        parse_secret_ref(value)


def _hudu(tmp_path: Path, password: str) -> Path:
    import json

    path = tmp_path / "hudu.json"
    path.write_text(json.dumps({"asset_passwords": [
        {"id": 7, "company_name": "Contoso", "name": "Router", "username": "admin", "password": password,
         "otp_secret": None, "url": "ssh://10.0.0.1"}]}))
    return path


def test_source_reference_resolves_once_from_the_named_file(tmp_path: Path) -> None:
    from evidence_kit.importers.sources import SourceSpec

    path = _hudu(tmp_path, "hudu-router-secret")
    sources = {"hudu": SourceSpec(format="hudu_json", file=Path(path.name))}
    r = SecretResolver(base_dir=tmp_path, environ={}, sources=sources)
    secret = r.resolve(parse_secret_ref("hudu:7/password"), "target 'r' field 'password'")
    assert secret.reveal() == "hudu-router-secret" and "hudu-router-secret" not in repr(secret)
    path.unlink()  # resolved once: the value is remembered, the file not read again
    assert r.resolve(parse_secret_ref("hudu:7/password"), "again").reveal() == "hudu-router-secret"
    assert r.known_values() == ["hudu-router-secret"]


def test_source_reference_problems_are_clear(tmp_path: Path) -> None:
    from evidence_kit.importers.sources import SourceSpec

    password = "hudu-never-shown"
    path = _hudu(tmp_path, password)
    bare = SecretResolver(environ={})
    with pytest.raises(SecretError, match=r"needs the inventory's case.sources.hudu"):
        bare.resolve(parse_secret_ref("hudu:7/password"), "t")
    r = SecretResolver(base_dir=tmp_path, environ={},
                       sources={"hudu": SourceSpec(format="hudu_json", file=path)})
    for ref, words in (("hudu:8/password", "no entry with id '8'"), ("hudu:7/totp", "that entry has no totp")):
        with pytest.raises(SecretError, match=words) as info:
            r.resolve(parse_secret_ref(ref), "target 'r'")
        assert password not in str(info.value) and str(path) in str(info.value)


def test_kdbx_source_password_is_a_reference(tmp_path: Path) -> None:
    from pykeepass import create_database

    from evidence_kit.importers.sources import SourceSpec

    db_path = tmp_path / "vault.kdbx"
    db = create_database(str(db_path), password="kdbx-master-pw")
    entry = db.add_entry(db.add_group(db.root_group, "Net"), "Router", "admin", "kdbx-router-pw")
    db.save()
    spec = SourceSpec(format="keepass_kdbx", file=db_path, password=parse_secret_ref("env:KP"))
    r = SecretResolver(environ={"KP": "kdbx-master-pw"}, sources={"kdbx": spec})
    assert r.resolve(parse_secret_ref(f"kdbx:{entry.uuid}/password"), "x").reveal() == "kdbx-router-pw"
    assert set(r.known_values()) == {"kdbx-master-pw", "kdbx-router-pw"}  # both redacted in a run
