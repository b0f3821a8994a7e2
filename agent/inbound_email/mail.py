"""The normalised inbound email every source is turned into."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from agent.text import strip_controls

# Message.provider_id holds 64 characters; a longer Message-ID is kept as its digest (still unique).
PROVIDER_ID_LENGTH = 64
MAX_TEXT = 100_000


@dataclass(frozen=True)
class Bounce:
    """A delivery status notification about an email we sent."""

    original_message_id: str  # without angle brackets; "" when the report does not say
    hard: bool  # Action: failed with a 5.x.x status: the address will never work
    status: str = ""  # the RFC 3463 status code, e.g. 5.1.1
    recipient: str = ""
    diagnostic: str = ""


@dataclass(frozen=True)
class InboundMail:
    message_id: str  # without angle brackets; never empty (sources without one derive it)
    sender: str  # the From header as written ("Dana <dana@example.com>")
    recipients: tuple[str, ...]  # To, Cc and the envelope recipients, as written
    subject: str = ""
    text: str = ""  # the sender's own words where the source separates them from the quoted thread
    in_reply_to: tuple[str, ...] = ()  # Message-IDs, without angle brackets
    references: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-cased names, first value
    bounce: Bounce | None = None

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """The Message-IDs this mail answers, the nearest first (In-Reply-To, then References
        from the newest)."""
        seen: dict[str, None] = {}
        for message_id in (*self.in_reply_to, *reversed(self.references)):
            seen.setdefault(message_id, None)
        return tuple(seen)


def clean(value: object, limit: int = 1000) -> str:
    """A provider's field as text we can store: control characters out, bounded."""
    return strip_controls(value if isinstance(value, str) else "")[:limit]


def message_ids(value: str) -> tuple[str, ...]:
    """The Message-IDs in an In-Reply-To/References header, without angle brackets."""
    found: list[str] = []
    for part in value.replace(">", "> ").split():
        token = part.strip().strip("<>,").strip()
        if token and "@" in token and len(found) < 100:
            found.append(token[:300])
    return tuple(found)


def provider_key(message_id: str) -> str:
    """The transcript's provider id for an inbound Message-ID (deduplicates deliveries)."""
    text = message_id.strip().strip("<>")
    if len(text) <= PROVIDER_ID_LENGTH:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[: PROVIDER_ID_LENGTH - 7]
