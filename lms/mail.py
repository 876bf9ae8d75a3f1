"""Sending one email: over SMTP in production, to the log in development (LMS_SMTP_URL empty).

The outbox (lms.services.outbox) decides what is due and retries; a transport only sends one message
and raises when it could not.

    ""                            -> the log (a developer can follow a reset link from the console)
    smtp://user:pass@host:587     -> SMTP with STARTTLS (the port defaults to 587)
    smtps://user:pass@host:465    -> SMTP over TLS (the port defaults to 465)
    smtp+plain://host:25          -> SMTP without TLS, for local relays and tests (default port 25)
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Protocol
from urllib.parse import unquote, urlsplit

from flask import current_app

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
DEFAULT_PORTS = {"smtp": 587, "smtps": 465, "smtp+plain": 25}


class Transport(Protocol):
    def send(self, *, to: str, subject: str, body: str) -> None:
        """Send one message or raise."""


@dataclass(frozen=True)
class LogTransport:
    """Development: writes the whole message to the log instead of sending it."""

    mail_from: str

    def send(self, *, to: str, subject: str, body: str) -> None:
        log.info("Email (not sent: LMS_SMTP_URL is empty)\nTo: %s\nSubject: %s\n\n%s", to, subject, body)


@dataclass(frozen=True)
class SmtpTransport:
    host: str
    port: int
    security: str  # "starttls", "tls" or "none"
    mail_from: str
    username: str | None = None
    password: str | None = None

    def send(self, *, to: str, subject: str, body: str) -> None:
        message = compose(mail_from=self.mail_from, to=to, subject=subject, body=body)
        with self._connect() as smtp:
            if self.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS)


def compose(*, mail_from: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(body)
    return message


def transport_from_url(url: str, *, mail_from: str | None = None) -> Transport:
    """The transport LMS_SMTP_URL names; the sender defaults to the app's MAIL_FROM."""
    mail_from = mail_from or current_app.config["MAIL_FROM"]
    if not url.strip():
        return LogTransport(mail_from)
    parts = urlsplit(url.strip())
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError(
            f"LMS_SMTP_URL must start with smtp://, smtps:// or smtp+plain:// (got {parts.scheme!r})."
        )
    if not parts.hostname:
        raise ValueError("LMS_SMTP_URL names no host.")
    security = {"smtp": "starttls", "smtps": "tls", "smtp+plain": "none"}[parts.scheme]
    return SmtpTransport(
        host=parts.hostname,
        port=parts.port or DEFAULT_PORTS[parts.scheme],
        security=security,
        mail_from=mail_from,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )
