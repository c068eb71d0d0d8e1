"""Fixtures for seal / verify / extract: a real RFC 3161 TSA (two variants), keys, cases."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.seal.helpers import Keyset, make_case, make_keyset
from tests.servers.tsa import TSA


@pytest.fixture(scope="session")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TSA]:
    """An ``openssl ts -reply`` TSA whose responses embed only the TSA certificate."""
    server = TSA(tmp_path_factory.mktemp("tsa")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tsa_unsorted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TSA]:
    """A TSA with ``certs=`` set: responses carry a certificate SET that is not DER-sorted."""
    server = TSA(tmp_path_factory.mktemp("tsa-unsorted"), certs_chain=True).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def keyset(tmp_path_factory: pytest.TempPathFactory) -> Keyset:
    return make_keyset(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="session")
def other_keyset(tmp_path_factory: pytest.TempPathFactory) -> Keyset:
    return make_keyset(tmp_path_factory.mktemp("other-keys"))


@pytest.fixture(scope="session")
def case_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small case made through the real case API (copied per test: cases are cheap to copy)."""
    return make_case(tmp_path_factory.mktemp("template") / "case")


@pytest.fixture
def case_dir(case_template: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "case"
    shutil.copytree(case_template, dest)
    return dest


@pytest.fixture(scope="session")
def sealed(tmp_path_factory: pytest.TempPathFactory, case_template: Path, keyset: Keyset, tsa: TSA) -> Path:
    """One archive sealed with the TSA, to be copied and tampered with (never modified in place)."""
    from evidence_kit.seal.seal import SealOptions, seal

    out = tmp_path_factory.mktemp("sealed") / "case.age"
    seal(SealOptions(case_dir=case_template, output=out, sign_key=keyset.sign_key,
                     recipients=[keyset.recipient], tsa_urls=[tsa.url]))
    return out


@pytest.fixture(autouse=True)
def _no_passphrase_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("EK_TEST_"):
            monkeypatch.delenv(name)
