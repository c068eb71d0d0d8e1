"""Helpers shared by tests."""

from __future__ import annotations

import secrets as _secrets
import socket
from collections.abc import Iterable
from pathlib import Path

from evidence_kit.redact import scan_path


def assert_no_secrets(root: Path, secrets: Iterable[str]) -> None:
    """The evidence rule: no secret in any artifact, raw or base64/URL/hex/JSON encoded.

    Every test that logs in calls this over the whole case folder (zip members included).
    """
    values = [s for s in secrets if s]
    assert values, "scanner called without secrets: it would prove nothing"
    findings = scan_path(Path(root), values)
    assert not findings, "secret leaked: " + "; ".join(str(f) for f in findings)


def random_password(prefix: str = "Pw") -> str:
    # Mixed classes so URL/JSON encodings differ from the raw form and get exercised too.
    return f"{prefix}-{_secrets.token_urlsafe(12)}!%+/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
