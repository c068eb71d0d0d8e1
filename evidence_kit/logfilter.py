"""Library loggers (paramiko's, ldap3's, playwright's) must not carry a secret either.

A log record factory redacts every record at creation, whatever logger made it and wherever
it is sent. Sessions register their secrets here; the registry only grows during a process.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from evidence_kit.redact import Redactor

_redactor = Redactor()
_lock = threading.Lock()
_installed = False


def register_secret(value: str) -> None:
    if value:
        with _lock:
            _redactor.add(value)


def install_log_redaction() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if _redactor:
                try:
                    message = record.getMessage()
                except Exception:  # a malformed record: leave it to logging's own handling
                    return record
                record.msg = _redactor.redact_text(message)
                record.args = None
            return record

        logging.setLogRecordFactory(factory)
        # Libraries' errors (a reset socket in paramiko's transport thread) are recorded in the
        # journal by the drivers; without a handler Python would print them to stderr.
        for name in ("paramiko", "ldap3"):
            logging.getLogger(name).addHandler(logging.NullHandler())
        _installed = True
