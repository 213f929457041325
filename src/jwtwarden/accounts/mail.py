"""Mail for the account lifecycle: a small sender port and its two adapters.

- ``MailSender``: ``await sender.send(message)``; the only thing the lifecycle needs.
- ``SMTPSender``: the standard library's ``smtplib`` in a worker thread (no new dependency;
  a message is one short SMTP conversation, and the thread keeps the event loop free). TLS is
  on by default: implicit TLS (port 465, RFC 8314 3.3) or STARTTLS (RFC 3207), with the
  system's certificate verification; a cleartext relay must be asked for
  (``security="none"``), and credentials are refused over it.
- ``FileOutbox``: development and tests: one ``.eml`` file per message in a directory of the
  data directory, created ``0600`` (a message carries a single-use link: as sensitive as the
  token in it). ``read_outbox`` reads them back, oldest first.

Nothing here logs a message's body: it holds the link.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import smtplib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from .._files import private_directory

__all__ = [
    "FileOutbox",
    "MailError",
    "MailMessage",
    "MailSender",
    "SMTPSender",
    "read_outbox",
]

Security = Literal["tls", "starttls", "none"]


class MailError(Exception):
    """A message could not be handed over (connection, TLS, authentication or a refusal by
    the server). The message names the step, never the credentials or the body."""


@dataclass(frozen=True, kw_only=True, slots=True)
class MailMessage:
    """One plain-text message. ``text`` holds the link: it is not in the ``repr``."""

    to: str
    subject: str
    text: str = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, value in (("to", self.to), ("subject", self.subject), *self.headers.items()):
            # A header injection (a CR or LF in an address or subject) is a bug of the caller.
            if not isinstance(value, str) or "\r" in value or "\n" in value:
                raise ValueError(f"{name} must be a one-line string")

    def to_email(self, sender: str) -> EmailMessage:
        """The RFC 5322 message from ``sender``."""
        message = EmailMessage(policy=policy.SMTP)
        message["From"] = sender
        message["To"] = self.to
        message["Subject"] = self.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
        for name, value in self.headers.items():
            message[name] = value
        message.set_content(self.text)
        return message


@runtime_checkable
class MailSender(Protocol):
    """Hands a message over for delivery."""

    async def send(self, message: MailMessage) -> None:
        """Send ``message``; raises ``MailError`` if it could not be handed over."""
        ...


class FileOutbox:
    """One ``.eml`` file per message in ``directory`` (created ``0700``; files ``0600``).

    Example:
        >>> outbox = FileOutbox(data_dir / "outbox", sender="auth@example.test")  # doctest: +SKIP
        >>> await outbox.send(MailMessage(to="ada@example.test", subject="Hi", text="..."))
    """

    def __init__(self, directory: Path, *, sender: str) -> None:
        self.directory = Path(directory)
        self.sender = sender

    async def send(self, message: MailMessage) -> None:
        await asyncio.to_thread(self._write, message.to_email(self.sender).as_bytes())

    def _write(self, raw: bytes) -> None:
        private_directory(self.directory, what="mail outbox")
        # Nanoseconds then randomness: names sort by time and never collide.
        name = f"{time.time_ns():020d}-{secrets.token_hex(4)}.eml"
        fd = os.open(self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)


def read_outbox(directory: Path) -> list[EmailMessage]:
    """The messages of a ``FileOutbox`` directory, oldest first (none if it does not exist)."""
    folder = Path(directory)
    if not folder.is_dir():
        return []
    parser = BytesParser(policy=policy.default)
    messages: list[EmailMessage] = []
    for path in sorted(folder.glob("*.eml")):
        message = parser.parsebytes(path.read_bytes())
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages


class SMTPSender:
    """SMTP submission with ``smtplib`` in a worker thread.

    Parameters:
        host, port: the submission server (465 for ``tls``, 587 for ``starttls``).
        sender: the ``From`` address.
        security: ``tls`` (implicit TLS), ``starttls`` (default) or ``none`` (a local relay).
        username, password: SMTP AUTH credentials, only over TLS.
        timeout: seconds for the connection and each command.
        tls_context: the TLS settings (the system's CA store and hostname checks by default).
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in ("tls", "starttls", "none"):
            raise ValueError("security must be 'tls', 'starttls' or 'none'")
        if (username is None) != (password is None):
            raise ValueError("give both username and password, or neither")
        if username is not None and security == "none":
            # RFC 8314 4.1: credentials never travel in cleartext.
            raise ValueError("SMTP credentials need security 'tls' or 'starttls'")
        if not 0 < timeout <= 120:
            raise ValueError("timeout must be between 0 and 120 seconds")
        self.host, self.port, self.sender = host, port, sender
        self.security: Security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        self._tls = tls_context or ssl.create_default_context()

    def __repr__(self) -> str:
        return f"SMTPSender(host={self.host!r}, port={self.port}, security={self.security!r})"

    async def send(self, message: MailMessage) -> None:
        email = message.to_email(self.sender)
        await asyncio.to_thread(self._send, email)

    def _send(self, email: EmailMessage) -> None:
        step = "connect"
        try:
            client: smtplib.SMTP
            if self.security == "tls":
                client = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self._tls
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.security == "starttls":
                    step = "starttls"
                    client.starttls(context=self._tls)
                if self.username is not None and self._password is not None:
                    step = "authenticate"
                    client.login(self.username, self._password)
                step = "send"
                client.send_message(email)
        except (OSError, smtplib.SMTPException) as exc:
            # The class and the step only: a server's reply can quote the address or the data.
            raise MailError(
                f"could not {step} with the SMTP server {self.host}:{self.port} "
                f"({type(exc).__name__})"
            ) from None
