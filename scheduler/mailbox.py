"""The lead mailbox: events, durable timers and per-lead leases, all rows in the database.

Every input to a lead (a message, a callback, a click, a rep action, a due follow-up) is a
`LeadEvent` with a unique dedupe key. A follow-up timer is an event whose `available_at` lies
ahead. A worker claims a lead by taking its lease (fence + expiry) and drains every pending
event of that lead into one graph run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from nudge.db import skip_locked
from nudge.ids import new_id
from nudge.models import Lead, LeadEvent

TOUCH_DUE = "touch_due"
INBOUND = "inbound"
HANDOFF_SLA = "handoff_sla"
_EVENTS = cast(sa.Table, LeadEvent.__table__)
_LEADS = cast(sa.Table, Lead.__table__)


class LeaseLost(RuntimeError):
    """Another worker took this lead's lease (ours expired): the run must not commit."""


def enqueue(
    session: Session,
    *,
    lead: Lead,
    kind: str,
    dedupe_key: str,
    now: datetime,
    payload: Mapping[str, Any] | None = None,
    available_at: datetime | None = None,
) -> bool:
    """Store an event once. False when an event with this dedupe key already exists."""
    values = {
        "id": new_id("evt"),
        "business_id": lead.business_id,
        "lead_id": lead.id,
        "kind": kind,
        "dedupe_key": dedupe_key,
        "payload": dict(payload or {}),
        "available_at": available_at or now,
        "created_at": now,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(_EVENTS).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(_EVENTS.c.id)
    )
    # Core, not ORM: the mailbox is the hot path and needs no identity map. RETURNING, not
    # rowcount: psycopg reports rowcount -1 for this statement, which made every duplicate look new.
    return session.connection().execute(statement).first() is not None


@dataclass(frozen=True)
class BurstHold:
    """How long a lead already in conversation must be quiet before its messages are answered
    (several quick messages get one answer), and the longest any message waits for that."""

    quiet: timedelta
    max_hold: timedelta


def hold_inbound(session: Session, lead_id: str, now: datetime, hold: BurstHold) -> datetime:
    """When the lead's pending messages, and one arriving now, become due: `quiet` after the
    newest, but no later than `max_hold` after the oldest still waiting. Every pending message
    of the lead moves to that moment, so one run drains the whole burst."""
    inbound = sa.and_(_EVENTS.c.lead_id == lead_id, _EVENTS.c.kind == INBOUND, _EVENTS.c.processed_at.is_(None))
    oldest = session.connection().scalar(sa.select(sa.func.min(_EVENTS.c.created_at)).where(inbound))
    start = oldest if oldest is not None else now  # UTCDateTime hands back aware values
    due = max(now, min(now + hold.quiet, start + hold.max_hold))
    session.connection().execute(sa.update(_EVENTS).where(inbound).values(available_at=due))
    return due


def pending(session: Session, lead_id: str, now: datetime) -> list[LeadEvent]:
    return list(
        session.scalars(
            sa.select(LeadEvent)
            .where(LeadEvent.lead_id == lead_id, LeadEvent.processed_at.is_(None), LeadEvent.available_at <= now)
            .order_by(LeadEvent.available_at, LeadEvent.created_at, LeadEvent.id)
        )
    )


def mark_processed(session: Session, events: Sequence[LeadEvent], now: datetime, outcome: str = "done") -> None:
    for event in events:
        event.processed_at = now
        event.outcome = outcome


def set_timer(
    session: Session,
    lead: Lead,
    due: datetime | None,
    now: datetime,
    *,
    kind: str = TOUCH_DUE,
    payload: Mapping[str, Any] | None = None,
) -> None:
    """Make the lead's only pending timer of `kind` fire at `due` with `payload` (or cancel it)."""
    session.flush()  # the Core statements below must see this run's ORM changes
    body = dict(payload or {})
    key = f"{kind}:{lead.id}:{json.dumps(body, sort_keys=True)}:{due.isoformat()}" if due is not None else None
    session.connection().execute(
        sa.update(_EVENTS)
        .where(
            _EVENTS.c.lead_id == lead.id,
            _EVENTS.c.kind == kind,
            _EVENTS.c.processed_at.is_(None),
            _EVENTS.c.dedupe_key != (key or ""),
        )
        .values(processed_at=now, outcome="cancelled")
    )
    if key is not None and due is not None:
        enqueue(session, lead=lead, kind=kind, dedupe_key=key, now=now, payload=body, available_at=due)


def due_lead_ids(session: Session, now: datetime, limit: int) -> list[str]:
    """Leads with due events and a free lease, oldest due first."""
    due = (
        sa.select(_EVENTS.c.lead_id, sa.func.min(_EVENTS.c.available_at).label("first_due"))
        .where(_EVENTS.c.processed_at.is_(None), _EVENTS.c.available_at <= now)
        .group_by(_EVENTS.c.lead_id)
        .subquery()
    )
    query = (
        sa.select(_LEADS.c.id)
        .join(due, due.c.lead_id == _LEADS.c.id)
        .where(sa.or_(_LEADS.c.lease_until.is_(None), _LEADS.c.lease_until < now))
        .order_by(due.c.first_due)
        .limit(limit)
    )
    return [str(row[0]) for row in session.connection().execute(skip_locked(session, query, of=_LEADS))]


def claim(session: Session, lead_id: str, owner: str, now: datetime, lease: timedelta) -> int | None:
    """Take the lead's lease; the returned fence proves ownership at commit time.

    On PostgreSQL the lead row is locked with SKIP LOCKED first: a lead another worker is running
    right now is skipped instead of waited for. On SQLite the single writer serialises claims.
    """
    if session.get_bind().dialect.name == "postgresql":
        locked = session.scalar(skip_locked(session, sa.select(Lead.id).where(Lead.id == lead_id)))
        if locked is None:
            return None
    result = session.connection().execute(
        sa.update(_LEADS)
        .where(_LEADS.c.id == lead_id, sa.or_(_LEADS.c.lease_until.is_(None), _LEADS.c.lease_until < now))
        .values(lease_owner=owner, lease_until=now + lease, fence=_LEADS.c.fence + 1)
        .returning(_LEADS.c.fence)
    )
    row = result.first()
    return int(row[0]) if row else None


def release(session: Session, lead_id: str, fence: int) -> None:
    """Give the lease back; raises LeaseLost when someone else holds it now."""
    result = session.connection().execute(
        sa.update(_LEADS).where(_LEADS.c.id == lead_id, _LEADS.c.fence == fence).values(lease_until=None)
    )
    if result.rowcount != 1:
        raise LeaseLost(f"lead {lead_id}: lease fence {fence} is no longer ours")


def has_due(session: Session, lead_id: str, now: datetime) -> bool:
    session.flush()
    first = session.connection().scalar(
        sa.select(LeadEvent.id)
        .where(LeadEvent.lead_id == lead_id, LeadEvent.processed_at.is_(None), LeadEvent.available_at <= now)
        .limit(1)
    )
    return first is not None


def pending_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        sa.select(LeadEvent.kind, sa.func.count()).where(LeadEvent.processed_at.is_(None)).group_by(LeadEvent.kind)
    )
    return {str(kind): int(count) for kind, count in rows}
