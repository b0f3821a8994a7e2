"""What a composer is asked for and what it hands back."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

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
    "booking_cancelled",
]

# Characters a message may use per channel: two GSM-7 SMS segments, WhatsApp's free-text cap.
CHANNEL_LIMITS: Mapping[str, int] = {"sms": 306, "whatsapp": 1024, "email": 20000}


@dataclass(frozen=True)
class LeadContext:
    """What an LLM composer may know about the lead and the business for one message.

    The template composer ignores it. Everything here is data for the prompt: the lead's own
    words (`first_message`, `transcript`) are never treated as instructions.
    """

    business_id: str
    business_name: str
    profile: Mapping[str, Any]
    lead_name: str
    industry: str | None
    source: str
    first_message: str
    transcript: tuple[tuple[str, str], ...]  # (who: "lead" | "us", text), oldest first
    signals: tuple[str, ...]  # "clicked: <title>", "opened email", …
    asset_kind: str | None  # resource | case_study | offer | content | None (the message is the value)
    asset: Mapping[str, str]  # the asset's values, links already tracked (/r/…)
    tracked_links: tuple[str, ...]  # the only links a draft may contain
    touch: int | None
    knowledge: tuple[str, ...] = ()  # facts the knowledge base gave for this lead (a case result)
    seconds_left: float | None = None  # touch 1: time left of the promise to answer the lead


@dataclass(frozen=True)
class Usage:
    """Tokens one model call cost, and how the call ended."""

    task: str  # compose:<kind> | qualify
    model: str
    prompt_tokens: int
    completion_tokens: int
    outcome: str  # ok | rejected | malformed | timeout | error | breaker_open


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
    # Phrasing ids (without language and purpose) an experiment's arm reads first.
    preferred: frozenset[str] = frozenset()
    # What an LLM composer needs, read on demand (the template composer never pays for it).
    context: Callable[[], LeadContext] | None = None


@dataclass(frozen=True)
class Draft:
    body: str
    variant: str
    composer: Literal["template", "llm"]
    subject: str | None = None
    values_used: tuple[str, ...] = field(default=())
    usage: tuple[Usage, ...] = ()  # model calls spent on this message, rejected drafts included
    fallback_reason: str | None = None  # why an LLM draft was not used, when a template was


class Composer(Protocol):
    def compose(self, request: ComposeRequest) -> Draft | None:
        """A draft for the request, or None when nothing fitting and unused is left."""
