"""Sending over SMTP to real aiosmtpd servers on 127.0.0.1 (tests/servers/smtp.py)."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

import pytest

from evidence_kit.drivers.tls import colon_form
from evidence_kit.notify.errors import (
    NotifyInputError,
    RecipientPolicyError,
    SmtpAuthError,
    SmtpConnectError,
    SmtpTlsError,
)
from evidence_kit.notify.message import Attachment, build_message
from evidence_kit.notify.smtp import SmtpDelivery, SmtpSettings, send_message
from evidence_kit.notify.tls import TlsSettings
from evidence_kit.secrets import Secret
from tests.helpers import free_port
from tests.servers.smtp import SmtpServer

CLIENT = "it@contoso.example"
NEW = "noc@newprovider.example"

# Bytes that trip naive senders: SMTP dot-stuffing, "From " lines, bare CR/LF, NULs, no final EOL.
TRICKY = b".\r\n..\r\nFrom me\n.\n\r\x00\xff end without newline."


def settings(srv: SmtpServer, **kw: Any) -> SmtpSettings:
    base: dict[str, Any] = {"host": srv.host, "port": srv.port, "security": srv.security,
                            "helo_name": "capture-host.test", "timeout": 10.0}
    if srv.cert is not None:
        base |= {"tls": TlsSettings(cafile=srv.cert.cert), "username": srv.username,
                 "password": Secret(srv.password, "env:SMTP_PASSWORD")}
    return SmtpSettings(**(base | kw))


def transmittal(
    to: list[str] | None = None, cc: list[str] | None = None, attachments: Sequence[Attachment] = ()
) -> EmailMessage:
    return build_message(
        sender="Example MSP <handover@msp.example>", to=to or [NEW], cc=[CLIENT] if cc is None else cc,
        subject="Handover of Contoso Ltd: transmittal", text="Please find the transmittal attached.\n",
        html="<p>Please find the transmittal attached.</p>", attachments=list(attachments),
    )


def test_delivered_with_recipients_attachments_and_message_id(smtp_server: SmtpServer) -> None:
    files = [
        Attachment("transmittal.pdf", b"%PDF-1.7\n" + os.urandom(50_000), "application/pdf"),
        Attachment("credentials.kdbx.age", os.urandom(200_000)),
        Attachment("tricky.bin", TRICKY),
        Attachment("transmittal.json", b'{"a": 1}\n', "application/json"),
    ]
    msg = transmittal(attachments=files)
    logins = smtp_server.logins()
    delivery = send_message(msg, settings(smtp_server), required_recipients=[CLIENT])

    assert isinstance(delivery, SmtpDelivery)
    assert delivery.message_id == msg["Message-ID"]
    assert delivery.accepted == (NEW, CLIENT) and delivery.refused == ()
    assert delivery.envelope_sender == "handover@msp.example"
    assert delivery.final_reply.code == 250 and "queued as" in delivery.final_reply.text
    assert delivery.server == f"127.0.0.1:{smtp_server.port}" and delivery.security == "starttls"
    assert delivery.authenticated_as == smtp_server.username
    assert delivery.server_cert_sha256 == smtp_server.cert.sha256  # type: ignore[union-attr]
    assert delivery.tls_version in ("TLSv1.2", "TLSv1.3")
    assert smtp_server.logins() == logins + 1  # one AUTH, one mechanism

    got = smtp_server.find(delivery.message_id)
    assert got is not None
    assert got.tls and got.login == smtp_server.username
    assert got.mail_from == "handover@msp.example" and got.rcpt_tos == (NEW, CLIENT)
    received = got.message()
    assert received["To"] == NEW and received["Cc"] == CLIENT
    parts = {p.get_filename(): p for p in received.iter_attachments()}
    assert set(parts) == {a.filename for a in files}
    for a in files:
        assert parts[a.filename].get_content_type() == a.media_type
        assert parts[a.filename].get_payload(decode=True) == a.data  # byte for byte
    html = received.get_body(("html",))
    assert html is not None and "transmittal attached" in html.get_content()
    assert delivery.as_dict()["final_reply"]["code"] == 250


def test_implicit_tls(smtps_server: SmtpServer) -> None:
    delivery = send_message(transmittal(), settings(smtps_server), required_recipients=[CLIENT])
    assert delivery.security == "tls" and delivery.server_cert_sha256 == smtps_server.cert.sha256  # type: ignore[union-attr]
    got = smtps_server.find(delivery.message_id)
    assert got is not None and got.login == smtps_server.username


def test_starttls_required_nothing_sent_in_clear(smtp_plain_server: SmtpServer) -> None:
    before = smtp_plain_server.count()
    s = SmtpSettings(host=smtp_plain_server.host, port=smtp_plain_server.port, username="alerts@msp.example",
                     password=Secret("never-sent-in-clear-1", "env:SMTP_PASSWORD"), helo_name="capture-host.test")
    with pytest.raises(SmtpTlsError) as info:
        send_message(transmittal(), s)
    line = info.value.one_line()
    assert f"127.0.0.1:{smtp_plain_server.port}" in line and "STARTTLS" in line and "nothing was sent" in line
    assert smtp_plain_server.count() == before

    # Plain only when chosen, and then never with a password.
    delivery = send_message(transmittal(), SmtpSettings(host=smtp_plain_server.host, port=smtp_plain_server.port,
                                                        security="plain", helo_name="capture-host.test"))
    got = smtp_plain_server.find(delivery.message_id)
    assert got is not None and not got.tls and delivery.server_cert_sha256 is None


def test_plain_with_a_password_is_refused_before_connecting() -> None:
    with pytest.raises(NotifyInputError) as info:
        SmtpSettings(host="127.0.0.1", security="plain", username="u", password=Secret("p", "env:P"))
    assert info.value.where == "security" and "without TLS" in info.value.one_line()
    with pytest.raises(NotifyInputError):
        SmtpSettings(host="127.0.0.1", username="u")  # a user without a password


def test_wrong_password_one_line_error(smtp_server: SmtpServer) -> None:
    wrong = "Wrong-Pw-" + os.urandom(6).hex()
    before, logins = smtp_server.count(), smtp_server.logins()
    with pytest.raises(SmtpAuthError) as info:
        send_message(transmittal(), settings(smtp_server, password=Secret(wrong, "env:SMTP_PASSWORD")))
    err = info.value
    line = err.one_line()
    assert line == str(err) and "\n" not in line
    assert f"127.0.0.1:{smtp_server.port}" in line and repr(smtp_server.username) in line and "535" in line
    assert err.code == 535 and err.account == smtp_server.username and err.exit_code == 2
    assert wrong not in line and wrong not in repr(err)
    assert smtp_server.logins() == logins + 1  # refused once, never retried with another mechanism
    assert smtp_server.count() == before


def test_refused_recipient_reported(smtp_server: SmtpServer) -> None:
    gone = "refused-old-noc@newprovider.example"
    delivery = send_message(transmittal(to=[NEW, gone]), settings(smtp_server), required_recipients=[CLIENT])
    assert delivery.accepted == (NEW, CLIENT)
    assert [(r.address, r.code) for r in delivery.refused] == [(gone, 550)]
    assert "User unknown" in delivery.refused[0].text
    got = smtp_server.find(delivery.message_id)
    assert got is not None and got.rcpt_tos == (NEW, CLIENT)


def test_required_recipient_missing_nothing_sent(smtp_server: SmtpServer) -> None:
    before, logins = smtp_server.count(), smtp_server.logins()
    with pytest.raises(RecipientPolicyError) as info:
        send_message(transmittal(cc=[]), settings(smtp_server), required_recipients=[CLIENT])
    assert CLIENT in info.value.one_line()
    assert (smtp_server.count(), smtp_server.logins()) == (before, logins)  # refused before connecting


def test_required_recipient_refused_by_server_nothing_sent(smtp_server: SmtpServer) -> None:
    client = "refused-it@contoso.example"
    before = smtp_server.count()
    with pytest.raises(RecipientPolicyError) as info:
        send_message(transmittal(cc=[client]), settings(smtp_server), required_recipients=[client])
    line = info.value.one_line()
    assert client in line and "550" in line and "nothing was sent" in line
    assert smtp_server.count() == before


def test_required_recipient_matches_display_name_and_case(smtp_server: SmtpServer) -> None:
    delivery = send_message(transmittal(cc=["Contoso IT <IT@Contoso.example>"]), settings(smtp_server),
                            required_recipients=[f"Contoso <{CLIENT}>"])
    assert "IT@Contoso.example" in delivery.accepted


def test_untrusted_certificate_no_login_sent(smtp_server: SmtpServer) -> None:
    logins = smtp_server.logins()
    with pytest.raises(SmtpTlsError) as info:
        send_message(transmittal(), settings(smtp_server, tls=TlsSettings()))  # system store only
    assert "certificate not accepted" in info.value.one_line()
    assert smtp_server.logins() == logins


def test_pinned_certificate(smtp_server: SmtpServer) -> None:
    sha = smtp_server.cert.sha256  # type: ignore[union-attr]
    delivery = send_message(transmittal(), settings(smtp_server, tls=TlsSettings(pin_sha256=colon_form(sha))))
    assert delivery.server_cert_sha256 == sha

    logins = smtp_server.logins()
    other = "00" * 32
    with pytest.raises(SmtpTlsError) as info:
        send_message(transmittal(), settings(smtp_server, tls=TlsSettings(pin_sha256=other)))
    line = info.value.one_line()
    assert colon_form(sha) in line and colon_form(other) in line and "nothing was sent" in line
    assert smtp_server.logins() == logins


def test_certificate_for_another_name_is_refused(smtp_server: SmtpServer) -> None:
    tls = TlsSettings(cafile=smtp_server.cert.cert, server_name="mail.other.example")  # type: ignore[union-attr]
    with pytest.raises(SmtpTlsError):
        send_message(transmittal(), settings(smtp_server, tls=tls))


def test_unreachable_server() -> None:
    port = free_port()
    s = SmtpSettings(host="127.0.0.1", port=port, security="plain", timeout=5)
    with pytest.raises(SmtpConnectError) as info:
        send_message(transmittal(), s)
    assert f"127.0.0.1:{port}" in info.value.one_line() and "refused" in info.value.one_line()


def test_missing_ca_file(smtp_server: SmtpServer, tmp_path: Any) -> None:
    with pytest.raises(NotifyInputError) as info:
        send_message(transmittal(), settings(smtp_server, tls=TlsSettings(cafile=tmp_path / "none.pem")))
    assert "none.pem" in info.value.one_line() and info.value.where == "cafile"


def test_server_that_never_greets_times_out() -> None:
    # A real listener that accepts the TCP connection (backlog) and never says a word.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        s = SmtpSettings(host="127.0.0.1", port=port, timeout=0.5)
        with pytest.raises(SmtpConnectError) as info:
            send_message(transmittal(), s)
    line = info.value.one_line()
    assert f"127.0.0.1:{port}" in line and "no answer within 0.5 s while connecting" in line
