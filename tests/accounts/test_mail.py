"""The mail port's adapters: SMTP against a real SMTP server on 127.0.0.1 (aiosmtpd, a real
socket: plain relay, STARTTLS with AUTH, a refused login, nobody listening), and the file outbox
(0600 files in a 0700 directory, read back in order)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jwtwarden.accounts.mail import FileOutbox, MailError, MailMessage, SMTPSender, read_outbox
from tests.server.support import free_port

SECRET = "smtp-password-" + "x" * 12
MESSAGE = MailMessage(
    to="ada@example.test",
    subject="Reset your password",
    text="Follow https://auth.example.test/reset#token to choose a new password.\n",
)


@dataclass
class Inbox:
    envelopes: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
    ok = (
        isinstance(auth, LoginPassword)
        and auth.login == b"mailer"
        and auth.password == SECRET.encode()
    )
    return AuthResult(success=ok)


def _certificate(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def relay() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def submission(tmp_path: Path) -> Iterator[tuple[Inbox, int, ssl.SSLContext]]:
    cert, key = _certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=str(cert))
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=_authenticator,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield inbox, port, client_tls
    finally:
        controller.stop()


async def test_should_deliver_a_message_to_a_local_relay(relay: tuple[Inbox, int]) -> None:
    inbox, port = relay
    sender = SMTPSender(host="127.0.0.1", port=port, sender="auth@example.test", security="none")
    await sender.send(MESSAGE)
    [envelope] = inbox.envelopes
    assert envelope.mail_from == "auth@example.test" and envelope.rcpt_tos == ["ada@example.test"]
    body = envelope.content.decode()
    assert "Subject: Reset your password" in body and "/reset#token" in body


async def test_should_deliver_over_starttls_with_authentication(
    submission: tuple[Inbox, int, ssl.SSLContext],
) -> None:
    inbox, port, tls = submission
    sender = SMTPSender(
        host="127.0.0.1",
        port=port,
        sender="auth@example.test",
        username="mailer",
        password=SECRET,
        tls_context=tls,
    )
    await sender.send(MESSAGE)
    assert [e.rcpt_tos for e in inbox.envelopes] == [["ada@example.test"]]
    assert SECRET not in repr(sender)


async def test_should_fail_with_the_step_and_without_the_password_on_a_refused_login(
    submission: tuple[Inbox, int, ssl.SSLContext],
) -> None:
    inbox, port, tls = submission
    sender = SMTPSender(
        host="127.0.0.1",
        port=port,
        sender="auth@example.test",
        username="mailer",
        password="wrong-" + SECRET,
        tls_context=tls,
    )
    with pytest.raises(MailError, match="could not authenticate") as refused:
        await sender.send(MESSAGE)
    assert SECRET not in str(refused.value) and inbox.envelopes == []


async def test_should_refuse_a_certificate_it_cannot_verify(
    submission: tuple[Inbox, int, ssl.SSLContext],
) -> None:
    _, port, _ = submission
    sender = SMTPSender(host="127.0.0.1", port=port, sender="auth@example.test")
    with pytest.raises(MailError, match="could not starttls"):
        await sender.send(MESSAGE)


async def test_should_fail_to_connect_when_nobody_listens() -> None:
    sender = SMTPSender(
        host="127.0.0.1", port=free_port(), sender="a@example.test", security="none", timeout=2
    )
    with pytest.raises(MailError, match="could not connect"):
        await sender.send(MESSAGE)


def test_should_refuse_credentials_over_cleartext() -> None:
    with pytest.raises(ValueError, match="need security"):
        SMTPSender(host="h", port=25, sender="a@b", security="none", username="u", password="p")


async def test_should_write_private_eml_files_and_read_them_back_in_order(tmp_path: Path) -> None:
    outbox = FileOutbox(tmp_path / "outbox", sender="auth@example.test")
    await outbox.send(MESSAGE)
    await outbox.send(MailMessage(to="bob@example.test", subject="Second", text="two\n"))
    files = sorted((tmp_path / "outbox").iterdir())
    assert len(files) == 2 and all(f.suffix == ".eml" for f in files)
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert stat.S_IMODE((tmp_path / "outbox").stat().st_mode) == 0o700
    first, second = read_outbox(tmp_path / "outbox")
    assert first["To"] == "ada@example.test" and first["Subject"] == "Reset your password"
    assert "/reset#token" in first.get_content() and second["Subject"] == "Second"
    assert read_outbox(tmp_path / "nothing-here") == []


@pytest.mark.parametrize(
    "fields",
    [
        {"to": "ada@example.test\r\nBcc: eve@example.test", "subject": "s"},
        {"to": "ada@example.test", "subject": "s\nBcc: eve@example.test"},
    ],
    ids=["should refuse a header injected in the address", "should refuse one in the subject"],
)
def test_header_injection(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="one-line"):
        MailMessage(text="t", **fields)


def test_should_keep_the_body_out_of_the_repr() -> None:
    assert "/reset#token" not in repr(MESSAGE)
