"""Email over SMTP (aiosmtplib), multipart text + HTML."""

from __future__ import annotations

import asyncio
import functools
import html
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib

from agent.channels.base import ChannelError, FailureAction, OutboundMessage, SendResult


def render_html(body: str) -> str:
    paragraphs = "".join(
        f"<p>{html.escape(block).replace(chr(10), '<br>')}</p>" for block in body.split("\n\n") if block.strip()
    )
    return f'<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">{paragraphs}</body></html>'


@functools.lru_cache(maxsize=1024)
def sender_domain(sender: str) -> str:
    # A business has one or two sender addresses and every email asks: parse each once.
    return parseaddr(sender)[1].rsplit("@", 1)[-1] or "nudge.local"


def message_id_for(message_id: str, sender: str) -> str:
    """Our Message-ID for one transcript row: stable, so replies and follow-ups can thread on it."""
    return f"<{message_id}@{sender_domain(sender)}>"


def build_email(message: OutboundMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = message.sender
    email["To"] = message.to
    email["Subject"] = message.subject or ""
    email["Date"] = formatdate(localtime=False)
    if "Message-ID" not in message.headers:
        email["Message-ID"] = make_msgid(idstring=message.message_id, domain=sender_domain(message.sender))
    for name, value in message.headers.items():
        email[name] = value
    email.set_content(message.body)
    email.add_alternative(render_html(message.body), subtype="html")
    return email


class _Smtp(aiosmtplib.SMTP):
    """Notes when the message itself went out: a failure after that (no answer to the data) may
    still see it delivered."""

    data_began = False

    async def data(self, *args: Any, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        self.data_began = True
        return await super().data(*args, **kwargs)


class SmtpEmailChannel:
    name = "email"

    def __init__(self, smtp_url: str, timeout: float = 20.0) -> None:
        parts = urlsplit(smtp_url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("NUDGE_SMTP_URL must look like smtp://user:pass@host:587 or smtps://host:465")
        self._host = parts.hostname
        self._port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self._tls = parts.scheme == "smtps"
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._timeout = timeout

    def send(self, message: OutboundMessage) -> SendResult:
        email = build_email(message)
        client = _Smtp(
            hostname=self._host,
            port=self._port,
            username=self._user,
            password=self._password,
            use_tls=self._tls,
            start_tls=None if not self._tls else False,
            timeout=self._timeout,
        )

        async def send() -> None:  # what aiosmtplib.send does, with our client
            async with client:
                await client.send_message(email)

        try:
            asyncio.run(send())
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise ChannelError(
                f"mail server refused the recipient: {exc}", code="smtp-recipient", action="next_channel"
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            action: FailureAction = "retry" if 400 <= exc.code < 500 else "fail"
            raise ChannelError(
                f"mail server said {exc.code}: {exc.message}", code=f"smtp-{exc.code}", action=action
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            if client.data_began:  # the server has the message and never said what it did with it
                raise ChannelError(
                    f"mail server did not answer a sent message: {exc}", code="smtp-network", action="unconfirmed"
                ) from exc
            raise ChannelError(f"mail server unreachable: {exc}", code="smtp-network", action="retry") from exc
        return SendResult(provider_id=str(email["Message-ID"]).strip("<>"), status="sent")

    def find_sent(self, message: OutboundMessage, since: datetime) -> SendResult | None:
        # SMTP keeps no record we can ask; an interrupted send is reported, never repeated blindly.
        raise ChannelError("SMTP cannot confirm an interrupted send", code="smtp-unknown", action="fail")
