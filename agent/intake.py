"""New leads and inbound messages enter here (the API and the simulator both call this)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from agent.contacts import phone_key
from agent.events.log import LEAD_CREATED, emit, lead_snapshot
from agent.language import detect_language
from nudge.ids import new_id
from nudge.models import Business, Lead, Message, table_of

_LEADS = table_of(Lead)
_MESSAGES = table_of(Message)


class Owner(Protocol):
    """What intake needs of the business a message came to (a `Business` is one)."""

    @property
    def id(self) -> str: ...

    @property
    def default_locale(self) -> str: ...


@dataclass(frozen=True)
class NewLead:
    name: str = ""
    phone: str | None = None  # E.164, already normalised (matched on its `phone_key`)
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
        matches.append(Lead.phone_key == phone_key(lead.phone))
    if lead.email:
        matches.append(Lead.email == lead.email)
    if lead.external_id:
        matches.append(Lead.external_id == lead.external_id)
    if not matches:
        return None
    return session.scalars(
        sa.select(Lead).where(Lead.business_id == business_id, sa.or_(*matches)).order_by(Lead.created_at)
    ).first()


def _locale(business: Owner, data: NewLead) -> str:
    return data.locale or (
        detect_language(data.message, business.default_locale) if data.message else business.default_locale
    )


def lead_values(business: Owner, data: NewLead, now: datetime, first_channel: str) -> dict[str, Any]:
    """The columns of a new lead (by attribute name of `Lead`): what every way in stores, one
    lead at a time (`create_lead`) or in batches (`nudge leads import`)."""
    return {
        "business_id": business.id,
        "name": data.name.strip(),
        "phone": data.phone,
        "phone_key": phone_key(data.phone) if data.phone else None,
        "email": data.email,
        "external_id": data.external_id,
        "source": data.source,
        "industry": data.industry,
        "timezone": data.timezone,
        "locale": _locale(business, data),
        "consent": dict(data.consent),
        "first_message": data.message,
        "first_channel": first_channel,
        "extra": dict(data.metadata),
        "created_at": now,
        "updated_at": now,
    }


def create_lead(
    session: Session,
    business: Business,
    data: NewLead,
    now: datetime,
    first_channel: str,
    *,
    lead_id: str | None = None,
) -> Lead:
    """`lead_id`: the simulator names its leads (seeded); otherwise the column default (`new_id`) does."""
    lead = Lead(**lead_values(business, data, now, first_channel))
    if lead_id is not None:
        lead.id = lead_id
    session.add(lead)
    session.flush()
    created = {"lead": lead_snapshot(lead)}
    emit(session, business_id=business.id, lead_id=lead.id, type=LEAD_CREATED, data=created, now=now)
    return lead


@dataclass(frozen=True)
class Inbound:
    lead_id: str
    message_id: str
    new_lead: bool


@dataclass(frozen=True)
class _Statements:
    find_lead: sa.Select[tuple[str, str, str]]
    insert_lead: sa.Insert
    update_lead: sa.Update
    insert_message: sa.Insert


@cache
def _statements() -> _Statements:
    # Built once, on first use: on SQLite, building these costs several times what running them does.
    return _Statements(
        find_lead=sa.select(_LEADS.c.id, _LEADS.c.name, _LEADS.c.first_message)
        .where(
            _LEADS.c.business_id == sa.bindparam("business_id"),
            # A NULL address matches nothing, as `find_existing` leaves out the one not given.
            sa.or_(_LEADS.c.phone_key == sa.bindparam("phone_key"), _LEADS.c.email == sa.bindparam("email")),
        )
        .order_by(_LEADS.c.created_at)
        .limit(1),
        insert_lead=_LEADS.insert(),
        # The SET clause is whichever columns the parameters name.
        update_lead=_LEADS.update().where(_LEADS.c.id == sa.bindparam("lead_key")),
        insert_message=_MESSAGES.insert(),
    )


def record_inbound(
    session: Session,
    business: Owner,
    *,
    channel: str,
    phone: str | None,
    email: str | None = None,
    body: str,
    provider_id: str,
    now: datetime,
    profile_name: str = "",
    lead_id: str | None = None,
) -> Inbound:
    """Store a message the lead wrote; a first message from an unknown sender creates the lead
    (with `lead_id` when given: the simulator names its leads). `phone` is the address as the
    provider gave it: the lead is found by its `phone_key`, and replies on `channel` go to it.

    Core statements, not the ORM: this runs for every webhook and nothing here needs the
    identity map (the lead's run loads what it needs in its own session). Like the rest of the
    tenant-owned Core queries, the lookup names the business itself.
    """
    session.flush()  # the Core statements below must see anything the caller added
    statements = _statements()
    connection = session.connection()
    key = phone_key(phone) if phone else None
    found = connection.execute(
        statements.find_lead, {"business_id": business.id, "phone_key": key, "email": email}
    ).first()
    seen: dict[str, object] = {"last_inbound_at": now, "last_channel": channel, "updated_at": now}
    if channel == "whatsapp":
        seen["whatsapp_inbound_at"] = now  # opens the 24-hour customer-service window
    if phone is not None:
        seen["whatsapp_phone" if channel == "whatsapp" else "phone"] = phone
    if found is None:
        lead_id = lead_id or new_id("lead")
        data = NewLead(name=profile_name, phone=phone, email=email, source=channel, message=body)
        row: dict[str, object] = {
            "id": lead_id,
            "business_id": business.id,
            "name": data.name.strip(),
            "phone": phone,
            "phone_key": key,
            "email": email,
            "source": channel,
            "locale": _locale(business, data),
            "consent": {channel: True},
            "first_message": body,
            "first_channel": channel,
            "metadata": {},
            "created_at": now,
            **seen,
        }
        connection.execute(statements.insert_lead, row)
        created = {"lead": lead_snapshot(row)}
        emit(connection, business_id=business.id, lead_id=lead_id, type=LEAD_CREATED, data=created, now=now)
    else:
        lead_id = found.id
        changes = {"lead_key": lead_id, **seen}
        if not found.name and profile_name:
            changes["name"] = profile_name
        if not found.first_message:
            changes["first_message"] = body
        connection.execute(statements.update_lead, changes)
    message_id = new_id("msg")
    connection.execute(
        statements.insert_message,
        {
            "id": message_id,
            "business_id": business.id,
            "lead_id": lead_id,
            "direction": "in",
            "channel": channel,
            "author": "lead",
            "composer": "human",
            "body": body,
            "provider_id": provider_id,
            "status": "received",
            "status_history": [{"status": "received", "at": now.isoformat()}],
            "created_at": now,
        },
    )
    return Inbound(lead_id=lead_id, message_id=message_id, new_lead=found is None)
