"""Turning outside inputs into mailbox events (webhooks, the simulator and `nudge chat` share these).

Each function works inside the caller's transaction and returns the lead to wake, or None when
there is nothing new (a duplicate delivery).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.conversions import record_conversion
from agent.intake import NewLead, Owner, create_lead, find_existing, record_inbound
from agent.links import is_token
from agent.unsubscribe import lead_for_token, unsubscribe
from nudge.db import TENANT_KEY
from nudge.models import Business, Lead, Message, TrackedLink, table_of
from scheduler import mailbox

_BUSINESSES = table_of(Business)
_MESSAGES = table_of(Message)


@dataclass(frozen=True)
class NumberOwner:
    """The business a number belongs to: all a webhook needs of it before its lead's run."""

    id: str
    default_locale: str


@dataclass(frozen=True)
class _Statements:
    whatsapp_owner: sa.Select[tuple[str, str]]
    sms_owner: sa.Select[tuple[str, str]]
    by_provider_id: sa.Select[tuple[str]]


@cache
def _statements() -> _Statements:
    # Built once, on first use: on SQLite, building these costs several times what running them does.
    owner = sa.select(_BUSINESSES.c.id, _BUSINESSES.c.default_locale)
    return _Statements(
        whatsapp_owner=owner.where(_BUSINESSES.c.whatsapp_from == sa.bindparam("number")),
        sms_owner=owner.where(_BUSINESSES.c.sms_from == sa.bindparam("number")),
        by_provider_id=sa.select(_MESSAGES.c.id).where(_MESSAGES.c.provider_id == sa.bindparam("provider_id")),
    )


def business_for_number(session: Session, channel: str, number: str) -> NumberOwner | None:
    statements = _statements()
    statement = statements.whatsapp_owner if channel == "whatsapp" else statements.sms_owner
    row = session.connection().execute(statement, {"number": number}).first()
    return NumberOwner(id=row.id, default_locale=row.default_locale) if row is not None else None


def receive_message(
    session: Session,
    business: Owner,
    *,
    channel: str,
    phone: str | None,
    body: str,
    provider_id: str,
    now: datetime,
    email: str | None = None,
    profile_name: str = "",
    hold: mailbox.BurstHold | None = None,
    lead_id: str | None = None,
) -> str | None:
    """Store the message and its mailbox event. With `hold`, a lead already in conversation is
    answered once it pauses (a burst gets one answer); a new lead's first message never waits.
    `lead_id` names the lead if this message creates it (the simulator's seeded ids)."""
    session.flush()  # a message the caller added must count as a duplicate
    known = session.connection().scalar(_statements().by_provider_id, {"provider_id": provider_id})
    if known is not None:
        return None  # the provider retried a delivery we already have
    session.info[TENANT_KEY] = business.id
    received = record_inbound(
        session,
        business,
        channel=channel,
        phone=phone,
        email=email,
        body=body,
        provider_id=provider_id,
        now=now,
        profile_name=profile_name,
        lead_id=lead_id,
    )
    due = None
    if hold is not None and not received.new_lead:
        due = mailbox.hold_inbound(session, received.lead_id, now, hold)
    mailbox.enqueue(
        session,
        lead=mailbox.LeadRef(id=received.lead_id, business_id=business.id),
        kind=mailbox.INBOUND,
        dedupe_key=f"inbound:{provider_id}",
        now=now,
        payload={"message_id": received.message_id},
        available_at=due,
    )
    return received.lead_id


def record_click(session: Session, token: str, now: datetime) -> tuple[str | None, str | None]:
    """(url to redirect to, lead to wake). Only the first click of a link is a new signal."""
    if not is_token(token):
        return None, None
    link = session.scalars(select(TrackedLink).where(TrackedLink.token == token)).first()
    if link is None:
        return None, None
    link.clicks += 1
    if link.first_clicked_at is not None:
        return link.url, None
    link.first_clicked_at = now
    lead = session.get(Lead, link.lead_id)
    if lead is None:
        return link.url, None
    mailbox.enqueue(
        session,
        lead=lead,
        kind="click",
        dedupe_key=f"click:{token}",
        now=now,
        payload={"touch": link.touch, "url": link.url},
    )
    return link.url, lead.id


def receive_lead(
    session: Session, business: Business, data: NewLead, now: datetime, *, lead_id: str | None = None
) -> tuple[Lead, bool]:
    """A form/CRM lead: (lead, created). A known phone/email/external id returns the existing lead;
    a new one gets `lead_id` when given (the simulator's seeded ids)."""
    session.info[TENANT_KEY] = business.id
    existing = find_existing(session, business.id, data)
    if existing is not None:
        return existing, False
    lead = create_lead(session, business, data, now, first_channel="form", lead_id=lead_id)
    mailbox.enqueue(session, lead=lead, kind="lead_created", dedupe_key=f"lead_created:{lead.id}", now=now)
    return lead, True


def record_signal(
    session: Session, lead: Lead, payload: dict[str, object], now: datetime, dedupe_key: str, *, source: str = "api"
) -> bool:
    """An outside signal (converted, booked, lost…) for the lead's graph; a sale or booking also
    goes into the conversion ledger, in the same transaction."""
    stored = mailbox.enqueue(session, lead=lead, kind="signal", dedupe_key=dedupe_key, now=now, payload=payload)
    if stored:
        value = payload.get("value")
        currency = payload.get("currency")
        record_conversion(
            session,
            lead,
            kind=str(payload.get("type")),
            value=float(value) if isinstance(value, int | float) else None,
            currency=str(currency) if currency else None,
            source=source,
            at=now,
            dedupe_key=dedupe_key,
        )
    return stored


def record_unsubscribe(session: Session, token: str, now: datetime, how: str) -> tuple[bool, str | None]:
    """(token known, lead to wake). Idempotent: a second click finds the work done."""
    found = lead_for_token(session, token)
    if found is None:
        return False, None
    row, lead = found
    if not unsubscribe(session, row, lead, now, how):
        return True, None
    mailbox.enqueue(
        session,
        lead=lead,
        kind="signal",
        dedupe_key=f"unsubscribed:{token}",
        now=now,
        payload={"type": "unsubscribed", "how": how},
    )
    return True, lead.id
