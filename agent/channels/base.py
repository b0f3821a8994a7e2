"""One interface for every way Nudge reaches a lead."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

ChannelName = Literal["whatsapp", "sms", "email"]
CHANNELS: tuple[ChannelName, ...] = ("whatsapp", "sms", "email")

# What to do after a provider refuses a message. "unconfirmed": the request may have reached the
# provider (a timeout or a dropped connection after it was sent), so the provider is asked
# (`find_sent`) before anything is sent again.
FailureAction = Literal["retry", "next_channel", "suppress", "fail", "unconfirmed"]


@dataclass(frozen=True)
class OutboundMessage:
    message_id: str
    channel: ChannelName
    to: str
    sender: str
    body: str = ""
    subject: str | None = None
    content_sid: str | None = None  # WhatsApp approved template (Content API)
    content_variables: Mapping[str, str] = field(default_factory=dict)
    status_callback: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    provider_id: str
    status: str  # the provider's first status: queued, accepted, sent…


class ChannelError(Exception):
    """A provider refused or failed a send; `action` says what the caller should do next."""

    def __init__(self, message: str, *, code: str, action: FailureAction) -> None:
        super().__init__(message)
        self.code = code
        self.action = action


class Channel(Protocol):
    name: str

    def send(self, message: OutboundMessage) -> SendResult:
        """Hand the message to the provider. Raises ChannelError when refused."""

    def find_sent(self, message: OutboundMessage, since: datetime) -> SendResult | None:
        """After a crash between 'sending' and 'sent': did the provider get this message?"""
