"""The one outcome each target ends with (docs/architecture.md, evidence rules)."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    LOGIN_OK = "login_ok"
    LOGIN_LIMITED = "login_limited"
    MFA_REQUIRED = "mfa_required"
    AUTH_FAILED = "auth_failed"
    HOST_KEY_MISMATCH = "host_key_mismatch"
    CERTIFICATE_MISMATCH = "certificate_mismatch"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    ERROR = "error"

    @property
    def credential_worked(self) -> bool:
        """True when the credential got us in (with or without the expected privilege)."""
        return self in (Outcome.LOGIN_OK, Outcome.LOGIN_LIMITED)

    @property
    def is_success(self) -> bool:
        """Only ``login_ok`` is full success; anything else makes the run exit 1."""
        return self is Outcome.LOGIN_OK
