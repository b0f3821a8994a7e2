"""What a composer is asked for and what it hands back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

# A touch purpose (see agent.sequence.Purpose) or a conversational move.
MessageKind = Literal[
    "instant_reply",
    "qualification",
    "soft_reminder",
    "social_proof",
    "value_offer",
    "breakup",
    "reengagement",
    "answer",
    "clarify",
    "handoff_notice",
    "keep_warm",
    "optout_confirm",
    "optin_confirm",
    "help",
    "not_interested_close",
    "breakup_keep_open",
    "breakup_close",
    "breakup_not_now",
    "welcome_back",
]

# Characters a message may use per channel: two GSM-7 SMS segments, WhatsApp's free-text cap.
CHANNEL_LIMITS: Mapping[str, int] = {"sms": 306, "whatsapp": 1024, "email": 20000}


@dataclass(frozen=True)
class ComposeRequest:
    kind: MessageKind
    language: str
    channel: str
    lead_key: str  # stable per lead, so phrasing choice differs between leads but is repeatable
    values: Mapping[str, str]  # placeholders the message may use: first_name, business, topic, …
    used_variants: frozenset[str] = frozenset()
    previous_bodies: tuple[str, ...] = ()
    # Values the message exists to deliver (an answer's {fact}): phrasings without them are only
    # used when none that carries them is left.
    required: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Draft:
    body: str
    variant: str
    composer: Literal["template", "llm"]
    subject: str | None = None
    values_used: tuple[str, ...] = field(default=())


class Composer(Protocol):
    def compose(self, request: ComposeRequest) -> Draft | None:
        """A draft for the request, or None when nothing fitting and unused is left."""
