"""The message builder: fields, 7-bit output, recipients, the required-recipient policy."""

from __future__ import annotations

import pytest

from evidence_kit.notify.errors import NotifyInputError, RecipientPolicyError
from evidence_kit.notify.message import (
    Attachment,
    build_message,
    check_required_recipients,
    message_recipients,
    parse_address,
)

CLIENT = "it@contoso.example"
NEW = "noc@newprovider.example"


def test_message_fields_and_7bit_bytes() -> None:
    msg = build_message(
        sender="Example MSP <handover@msp.example>", to=[NEW], cc=[f"Contoso IT <{CLIENT}>"],
        subject="Übergabe — Contoso", text="Grüße\n.a line starting with a dot\n", html="<p>Grüße</p>",
        attachments=[Attachment("evidence.age", b"\x00\xff" * 10, "application/octet-stream")],
        headers={"Auto-Submitted": "auto-generated"},
    )
    raw = msg.as_bytes()
    assert raw.isascii()  # any relay takes it, no 8BITMIME needed
    assert b"\r\n" in raw
    assert str(msg["Message-ID"]).endswith("@msp.example>")
    assert msg["Auto-Submitted"] == "auto-generated"
    assert message_recipients(msg) == (NEW, CLIENT)


def test_recipients_dedupe_case_insensitively() -> None:
    msg = build_message(sender="a@msp.example", to=[NEW, "NOC@newprovider.example"], cc=[CLIENT, NEW],
                        subject="s", text="t")
    assert message_recipients(msg) == (NEW, CLIENT)


@pytest.mark.parametrize(("kwargs", "where"), [
    ({"to": ["not an address"]}, "to[0]"),
    ({"to": [NEW, "two@@x"]}, "to[1]"),
    ({"cc": ["a@b.example\r\nBcc: evil@x.example"]}, "cc[0]"),
    ({"sender": "nobody"}, "from"),
    ({"to": ["üser@contoso.example"]}, "to[0]"),
    ({"to": []}, "to"),
    ({"subject": "line\r\nBcc: evil@x.example"}, "headers"),
])
def test_bad_fields_are_one_line_input_errors(kwargs: dict[str, object], where: str) -> None:
    args: dict[str, object] = {"sender": "a@msp.example", "to": [NEW], "subject": "s", "text": "t"} | kwargs
    with pytest.raises(NotifyInputError) as info:
        build_message(**args)  # type: ignore[arg-type]
    assert info.value.where == where
    assert "\n" not in info.value.one_line()


@pytest.mark.parametrize(("name", "media"), [("../x", "text/plain"), ("a\r\nb", "text/plain"), ("a", "text")])
def test_bad_attachments(name: str, media: str) -> None:
    with pytest.raises(NotifyInputError):
        Attachment(name, b"x", media)


def test_attachment_repr_leaves_out_the_bytes() -> None:
    assert "secret-bytes" not in repr(Attachment("a.txt", b"secret-bytes"))


def test_parse_address_keeps_display_name() -> None:
    addr = parse_address("Contoso IT <it@contoso.example>")
    assert (addr.display_name, addr.addr_spec) == ("Contoso IT", CLIENT)


def test_required_recipients_policy() -> None:
    check_required_recipients([NEW, CLIENT], [CLIENT])
    check_required_recipients([NEW, "Contoso <IT@Contoso.Example>"], [f"Contoso IT <{CLIENT}>"])
    with pytest.raises(RecipientPolicyError) as info:
        check_required_recipients([NEW], [CLIENT])
    assert CLIENT in info.value.one_line() and "nothing was sent" in info.value.one_line()
