"""New leads and inbound messages enter here (the API and the simulator both call this)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from agent.language import detect_language
from nudge.models import Business, Lead, Message


@dataclass(frozen=True)
class NewLead:
    name: str = ""
    phone: str | None = None  # E.164, already normalised
    email: str | None = None
    external_id: str | None = None
    source: str = "form"
    message: str = ""
    industry: str | None = None
    timezone: str | None = None
    locale: str | None = None
    consent: Mapping[str, bool] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)


def find_existing(session: Session, business_id: str, lead: NewLead) -> Lead | None:
    matches = []
    if lead.phone:
        matches.append(Lead.phone == lead.phone)
    if lead.email:
        matches.append(Lead.email == lead.email)
    if lead.external_id:
        matches.append(Lead.external_id == lead.external_id)
    if not matches:
        return None
    return session.scalars(
        sa.select(Lead).where(Lead.business_id == business_id, sa.or_(*matches)).order_by(Lead.created_at)
    ).first()


def create_lead(session: Session, business: Business, data: NewLead, now: datetime, first_channel: str) -> Lead:
    locale = data.locale or (
        detect_language(data.message, business.default_locale) if data.message else business.default_locale
    )
    lead = Lead(
        business_id=business.id,
        name=data.name.strip(),
        phone=data.phone,
        email=data.email,
        external_id=data.external_id,
        source=data.source,
        industry=data.industry,
        timezone=data.timezone,
        locale=locale,
        consent=dict(data.consent),
        first_message=data.message,
        first_channel=first_channel,
        extra=dict(data.metadata),
        created_at=now,
        updated_at=now,
    )
    session.add(lead)
    session.flush()
    return lead


@dataclass(frozen=True)
class Inbound:
    lead: Lead
    message: Message
    new_lead: bool


def record_inbound(
    session: Session,
    business: Business,
    *,
    channel: str,
    phone: str | None,
    email: str | None = None,
    body: str,
    provider_id: str,
    now: datetime,
    profile_name: str = "",
) -> Inbound:
    """Store a message the lead wrote; a first message from an unknown sender creates the lead."""
    lead = find_existing(session, business.id, NewLead(phone=phone, email=email))
    created = lead is None
    if lead is None:
        lead = create_lead(
            session,
            business,
            NewLead(name=profile_name, phone=phone, email=email, source=channel, message=body, consent={channel: True}),
            now,
            first_channel=channel,
        )
    elif not lead.name and profile_name:
        lead.name = profile_name
    if not lead.first_message:
        lead.first_message = body
    message = Message(
        business_id=business.id,
        lead_id=lead.id,
        direction="in",
        channel=channel,
        author="lead",
        composer="human",
        body=body,
        provider_id=provider_id,
        status="received",
        status_history=[{"status": "received", "at": now.isoformat()}],
        created_at=now,
    )
    session.add(message)
    lead.last_inbound_at = now
    lead.last_channel = channel
    if channel == "whatsapp":
        lead.whatsapp_inbound_at = now  # opens the 24-hour customer-service window
    lead.updated_at = now
    session.flush()
    return Inbound(lead=lead, message=message, new_lead=created)

