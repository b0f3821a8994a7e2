"""Choosing the channel for a message and queueing it (transcript row + outbox row).

Nothing here talks to a provider: the dispatcher delivers outbox rows after the run commits,
so a run that fails leaves no message half-sent.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from agent import activity, stages
from agent.policies import whatsapp_window_open
from nudge.ids import new_id
from nudge.models import Business, Lead, Message, OptOut, Outbox, insert_into

QUEUED_IN_SESSION = "nudge.queued_outbox"
QUEUED = "queued"  # a queued message's status until delivery moves it on


@dataclass(frozen=True)
class WhatsAppTemplate:
    content_sid: str
    variables: tuple[str, ...]  # placeholder names filling {{1}}, {{2}}, …
    body: str  # the approved text with {{n}} markers, kept for the transcript

    def render(self, values: Mapping[str, str]) -> tuple[dict[str, str], str]:
        filled = {str(i): values.get(name, "") for i, name in enumerate(self.variables, start=1)}
        text = self.body
        for key, value in filled.items():
            text = text.replace("{{" + key + "}}", value)
        return filled, text


@dataclass(frozen=True)
class ChannelChoice:
    channel: str
    to: str
    sender: str
    template: WhatsAppTemplate | None = None  # set when WhatsApp is outside the 24-hour window


def free_text_choice(lead: Lead, business: Business, channel: str) -> ChannelChoice | None:
    """`channel` to this lead, if both ends have an address on it (no template: for answers)."""
    to, sender = lead.address(channel), business.sender(channel)
    return ChannelChoice(channel, to, sender) if to and sender else None


@dataclass(frozen=True)
class ChannelDecision:
    choice: ChannelChoice | None
    passed_over: tuple[str, ...] = field(default=())  # "whatsapp: outside the 24h window, no template"

    def explain(self) -> str:
        """Why this channel, for people reading a transcript: "first choice; approved template…"."""
        if self.choice is None:
            return "no channel: " + "; ".join(self.passed_over)
        parts = ["first choice" if not self.passed_over else "passed over " + "; ".join(self.passed_over)]
        if self.choice.template is not None:
            parts.append("approved template (outside the 24-hour window)")
        elif self.choice.channel == "whatsapp":
            parts.append("free text (the 24-hour window is open)")
        return "; ".join(parts)


def whatsapp_template(business: Business, purpose: str, language: str) -> WhatsAppTemplate | None:
    by_language: Any = (business.whatsapp_templates or {}).get(purpose) or {}
    entry = by_language.get(language) or by_language.get(business.default_locale)
    if not isinstance(entry, dict) or not entry.get("content_sid"):
        return None
    return WhatsAppTemplate(
        content_sid=str(entry["content_sid"]),
        variables=tuple(str(v) for v in entry.get("variables", [])),
        body=str(entry.get("body", "")),
    )


# Every touch reads these two; building the statements once (bound per call) skips SQLAlchemy's
# expression construction and cache-key work, which cost more than running them. They run on the
# session's connection: everything a run writes goes there at once (Core), nothing waits in the
# ORM for a flush, and the ORM layer around a read cost as much as the read.
@functools.cache
def _opted_out_query() -> Select[str]:
    return select(OptOut.channel).where(OptOut.lead_id == bindparam("lead_id"))


@functools.cache
def _sent_query() -> Select[str, Any, int | None, str, str]:
    return (
        select(Message.body, Message.info, Message.touch, Message.channel, Message.status)
        .where(Message.lead_id == bindparam("lead_id"), Message.direction == "out")
        .order_by(Message.created_at, Message.id)
    )


def opted_out_channels(session: Session, lead_id: str) -> set[str]:
    return set(session.connection().execute(_opted_out_query(), {"lead_id": lead_id}).scalars())


def no_longer_wanted(
    session: Session, lead: Lead, channel: str, touch: int | None, kind: str | None, waiting_since: datetime
) -> str | None:
    """Why a message queued earlier (a retry, a send deferred for the sender's rate, a send
    recovered after a crash) must not go out now, or None: the lead opted out, or a touch's lead
    left automation (won, escalated…) while it waited. `waiting_since` is when the row was last
    claimed (`Outbox.updated_at`): by the run that queued it, after that run's own stage changes,
    so a stage that run set itself (touch 1 and an escalation, a last touch and nurture-complete)
    does not withdraw it; or by its previous attempt, before that attempt's provider call, so a
    change made while the call was out still counts. The confirmation of an opt-out is the one
    message that may still reach an opted-out lead."""
    opted_out = opted_out_channels(session, lead.id)
    if kind != "optout_confirm" and ("all" in opted_out or channel in opted_out):
        return f"the lead opted out of {'everything' if 'all' in opted_out else channel} after it was queued"
    if touch is not None:
        for stage in activity.stages_entered_since(session, lead.id, waiting_since):
            if stage in stages.NO_AUTOMATION:
                return f"the lead became {stage} while it waited; follow-up touches stop"
    return None


def choose_channel(
    *,
    order: Sequence[str],
    lead: Lead,
    business: Business,
    opted_out: set[str],
    now: datetime,
    purpose: str,
    language: str,
    exclude: Iterable[str] = (),
    unreachable: Iterable[str] = (),
    ruled_out: Mapping[str, str] | None = None,
) -> ChannelDecision:
    """The first channel in `order` this lead can be reached on right now, and why others were not.
    `ruled_out` names channels the caller already tried for this touch, with the reason."""
    passed: list[str] = []
    excluded, dead = set(exclude), set(unreachable)
    if "all" in opted_out:
        return ChannelDecision(None, ("all channels: the lead opted out",))
    for channel in order:
        reason = (ruled_out or {}).get(channel) or _why_not(channel, lead, business, opted_out, excluded, dead)
        if reason:
            passed.append(f"{channel}: {reason}")
            continue
        to, sender = lead.address(channel), business.sender(channel)
        assert to and sender
        if channel == "email":
            return ChannelDecision(ChannelChoice("email", to, sender), tuple(passed))
        if channel == "whatsapp" and not whatsapp_window_open(now, lead.whatsapp_inbound_at):
            template = whatsapp_template(business, purpose, language)
            if template is None:
                passed.append("whatsapp: outside the 24-hour window and no approved template for this touch")
                continue
            return ChannelDecision(ChannelChoice(channel, to, sender, template), tuple(passed))
        return ChannelDecision(ChannelChoice(channel, to, sender), tuple(passed))
    return ChannelDecision(None, tuple(passed))


def _why_not(
    channel: str, lead: Lead, business: Business, opted_out: set[str], excluded: set[str], dead: set[str]
) -> str | None:
    if channel in excluded:
        return "already failed for this touch"
    if channel in dead:
        return "the lead cannot be reached on it"
    if channel in opted_out:
        return "the lead opted out of it"
    consent = lead.consent or {}
    if consent.get(channel) is False:
        return "no consent"
    if channel in (business.consent_required or []) and consent.get(channel) is not True:
        return "no consent given, and the business requires it"
    if channel == "email":
        if not lead.email:
            return "no email address"
        if not business.email_from:
            return "the business has no sender address"
        return None
    if not lead.phone:
        return "no phone number"
    if channel == "whatsapp" and not business.whatsapp_from:
        return "the business has no WhatsApp number"
    if channel == "sms" and not business.sms_from:
        return "the business has no SMS number"
    return None


@dataclass(frozen=True)
class QueuedMessage:
    """A message a run queued: its transcript row and its outbox row (pending) are written."""

    id: str
    outbox_id: str
    business_id: str
    lead_id: str
    channel: str
    touch: int | None
    body: str
    subject: str | None
    template_sid: str | None
    template_variables: dict[str, str] | None
    status_history: list[Any]  # its status is QUEUED
    created_at: datetime


class StoredMessage(Protocol):
    """What delivery reads of an outbound message: a loaded `Message` or a `QueuedMessage`."""

    @property
    def id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def template_sid(self) -> str | None: ...
    @property
    def template_variables(self) -> Mapping[str, Any] | None: ...
    @property
    def created_at(self) -> datetime: ...


def queue_message(
    session: Session,
    *,
    lead: Lead,
    choice: ChannelChoice,
    body: str,
    now: datetime,
    touch: int | None,
    author: str,
    composer: str,
    subject: str | None = None,
    template_sid: str | None = None,
    template_variables: Mapping[str, str] | None = None,
    info: Mapping[str, Any] | None = None,
) -> QueuedMessage:
    queued = QueuedMessage(
        id=new_id("msg"),
        outbox_id=new_id("out"),
        business_id=lead.business_id,
        lead_id=lead.id,
        channel=choice.channel,
        touch=touch,
        body=body,
        subject=subject,
        template_sid=template_sid,
        template_variables=dict(template_variables) if template_variables else None,
        status_history=[{"status": QUEUED, "at": now.isoformat()}],
        created_at=now,
    )
    # Written with Core as they are queued: the ORM's unit of work for these two rows cost a run
    # more than everything else it writes (the lead row) put together.
    connection = session.connection()
    connection.execute(
        insert_into(Message),
        {
            "id": queued.id,
            "business_id": queued.business_id,
            "lead_id": queued.lead_id,
            "direction": "out",
            "channel": queued.channel,
            "touch": touch,
            "author": author,
            "composer": composer,
            "body": body,
            "subject": subject,
            "template_sid": template_sid,
            "template_variables": queued.template_variables,
            "provider_id": None,
            "status": QUEUED,
            "status_history": queued.status_history,
            "error_code": None,
            "info": dict(info or {}),
            "created_at": now,
            "sent_at": None,
        },
    )
    connection.execute(
        insert_into(Outbox),
        {
            "id": queued.outbox_id,
            "business_id": queued.business_id,
            "lead_id": queued.lead_id,
            "message_id": queued.id,
            "channel": queued.channel,
            "status": "pending",
            "attempts": 0,
            "available_at": now,
            "last_error": None,
            "created_at": now,
            "updated_at": now,
        },
    )
    # The run that queued these claims them at its commit without reading them back.
    session.info.setdefault(QUEUED_IN_SESSION, []).append(queued)
    return queued


def forget_queued(session: Session) -> None:
    """Start a new run's list of queued rows (one session may carry several leads' runs)."""
    session.info.pop(QUEUED_IN_SESSION, None)


def queued_in(session: Session) -> list[QueuedMessage]:
    """Messages (with their outbox rows) queued through this session, oldest first."""
    return list(session.info.get(QUEUED_IN_SESSION, ()))


@dataclass(frozen=True)
class SentHistory:
    """Everything already sent to a lead, read once per run: the no-repeat rule, the phrasings
    used, the assets (resources, case studies) already shown and the sends that failed."""

    bodies: tuple[str, ...]
    variants: frozenset[str]
    assets: frozenset[str]
    failed: frozenset[tuple[int, str]] = frozenset()  # (touch, channel) refused or dropped

    def failed_channels(self, touch: int) -> list[str]:
        return sorted(channel for number, channel in self.failed if number == touch)


def sent_history(session: Session, lead_id: str) -> SentHistory:
    rows = session.connection().execute(_sent_query(), {"lead_id": lead_id}).all()
    infos = [row.info or {} for row in rows]
    return SentHistory(
        bodies=tuple(row.body for row in rows),
        variants=frozenset(str(i["variant"]) for i in infos if i.get("variant")),
        assets=frozenset(str(i["asset"]) for i in infos if i.get("asset")),
        # "undelivered" (a carrier dropped it) is as final as "failed": try the next channel.
        failed=frozenset(
            (row.touch, row.channel)
            for row in rows
            if row.status in ("failed", "undelivered") and row.touch is not None
        ),
    )
