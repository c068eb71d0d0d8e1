"""Library log records (paramiko's, ldap3's...) are redacted wherever they are sent."""

from __future__ import annotations

import base64
import logging

from evidence_kit.redact import redact_logs


def test_records_of_any_logger_are_redacted(caplog) -> None:  # type: ignore[no-untyped-def]
    secret = "Lib-Logged-S3cret!"
    redact_logs(secret)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("paramiko.transport").debug("auth with %s", secret)
        logging.getLogger("some.library").warning("token=%s", base64.b64encode(b"u:" + secret.encode()).decode())
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "[REDACTED]" in text
    assert secret not in text and base64.b64encode(b"u:" + secret.encode()).decode() not in text
