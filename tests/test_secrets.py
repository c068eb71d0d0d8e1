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
