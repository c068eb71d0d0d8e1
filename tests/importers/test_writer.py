"""The inventory writer's YAML: every string reads back as itself, and comments stay comments."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_kit.importers.writer import block, comment, scalar


@settings(max_examples=3000, deadline=None)
@given(st.text())
def test_every_string_reads_back_as_itself(text: str) -> None:
    doc = "a:\n" + "\n".join(block({"k": text, "n": {"m": text}}, "  ")) + "\n"
    doc.encode("utf-8")  # no lone surrogate reaches the file
    assert yaml.safe_load(doc) == {"a": {"k": text, "n": {"m": text}}}


@settings(max_examples=2000, deadline=None)
@given(st.text())
def test_a_comment_cannot_end_early(text: str) -> None:
    doc = f"# {comment(text)}\nk: 1\n"
    doc.encode("utf-8")
    assert yaml.safe_load(doc) == {"k": 1}


def test_plain_where_it_is_safe() -> None:
    assert scalar("bitwarden:5b1e7c0a-3c1d/password") == "bitwarden:5b1e7c0a-3c1d/password"
    assert scalar("https://10.0.0.1:4443/") == "https://10.0.0.1:4443/"
    assert scalar("Core router (Cisco 2960)") == "Core router (Cisco 2960)"
    for typed in ("true", "no", "null", "1.5", "0x1F", "2025-01-01", "~", "12:30", ""):
        assert scalar(typed).startswith('"'), typed
    assert scalar("kdbx:x/fields/Enable: secret") == '"kdbx:x/fields/Enable: secret"'
    assert scalar("Müller GmbH") == '"Müller GmbH"'
