"""The lead mailbox: events, durable timers and per-lead leases, all rows in the database.

Every input to a lead (a message, a callback, a click, a rep action, a due follow-up) is a
`LeadEvent` with a unique dedupe key. A follow-up timer is an event whose `available_at` lies
ahead. A worker claims a lead by taking its lease (fence + expiry) and drains every pending
event of that lead into one graph run.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from nudge.db import skip_locked, skip_locked_on
from nudge.ids import new_id
from nudge.models import Lead, LeadEvent, table_of

TOUCH_DUE = "touch_due"
INBOUND = "inbound"
HANDOFF_SLA = "handoff_sla"
QUIET_CHECK = "quiet_check"  # a conversation after the last touch: has the lead gone quiet?
_EVENTS = table_of(LeadEvent)
_LEADS = table_of(Lead)


class LeaseLost(RuntimeError):
    """Another worker took this lead's lease (ours expired): the run must not commit."""


class LeadKeys(Protocol):
    """What an event names of its lead (a loaded `Lead` is one, so is `LeadRef`)."""

    @property
    def id(self) -> str: ...

    @property
    def business_id(self) -> str: ...


@dataclass(frozen=True)
class LeadRef:
    """A lead by its ids, for writers that never loaded it (the webhook intake writes with Core)."""

    id: str
    business_id: str


@dataclass(frozen=True)
class Event:
    """A pending mailbox event as a run drains it."""

    id: str
    kind: str
    payload: dict[str, Any]


# The statements a graph run issues for its mailbox and lease, built once per process with bind
# parameters: constructing and cache-keying SQL expressions anew on every run cost more than
# executing them (SQLAlchemy memoises the cache key of a statement object it sees again).
@functools.cache
def _insert_event(dialect: str) -> sa.Insert:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    columns = ("id", "business_id", "lead_id", "kind", "dedupe_key", "payload", "available_at", "created_at")
    return (
        insert(_EVENTS)
        .values({name: sa.bindparam(f"e_{name}") for name in columns})
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(_EVENTS.c.id)
    )


def _due_for_lead() -> sa.ColumnElement[bool]:
    return sa.and_(
        _EVENTS.c.lead_id == sa.bindparam("lead_id"),
        _EVENTS.c.processed_at.is_(None),
        _EVENTS.c.available_at <= sa.bindparam("now"),
    )


@functools.cache
def _pending_events() -> sa.Select[tuple[str, str, Any]]:
    return (
        sa.select(_EVENTS.c.id, _EVENTS.c.kind, _EVENTS.c.payload)
        .where(_due_for_lead())
        .order_by(_EVENTS.c.available_at, _EVENTS.c.created_at, _EVENTS.c.id)
    )


@functools.cache
def _first_due() -> sa.Select[tuple[str]]:
    return sa.select(_EVENTS.c.id).where(_due_for_lead()).limit(1)


@functools.cache
def _mark_events() -> sa.Update:
    return (
        sa.update(_EVENTS)
        .where(_EVENTS.c.id.in_(sa.bindparam("ids", expanding=True)))
        .values(processed_at=sa.bindparam("at"), outcome=sa.bindparam("result"))
    )


@functools.cache
def _cancel_timers() -> sa.Update:
    return (
        sa.update(_EVENTS)
        .where(
            _EVENTS.c.lead_id == sa.bindparam("for_lead"),
            _EVENTS.c.kind == sa.bindparam("timer_kind"),
            _EVENTS.c.processed_at.is_(None),
            _EVENTS.c.dedupe_key != sa.bindparam("keep"),
        )
        .values(processed_at=sa.bindparam("at"), outcome="cancelled")
    )


@functools.cache
def _take_lease() -> sa.Update:
    return (
        sa.update(_LEADS)
        .where(
            _LEADS.c.id == sa.bindparam("for_lead"),
            sa.or_(_LEADS.c.lease_until.is_(None), _LEADS.c.lease_until < sa.bindparam("now")),
        )
        .values(lease_owner=sa.bindparam("owner"), lease_until=sa.bindparam("until"), fence=_LEADS.c.fence + 1)
        .returning(_LEADS.c.fence)
    )


@functools.cache
def _give_back_lease() -> sa.Update:
    return (
        sa.update(_LEADS)
        .where(_LEADS.c.id == sa.bindparam("for_lead"), _LEADS.c.fence == sa.bindparam("held_fence"))
        .values(lease_until=None)
    )


def enqueue(
    session: Session,
    *,
    lead: LeadKeys,
    kind: str,
    dedupe_key: str,
    now: datetime,
    payload: Mapping[str, Any] | None = None,
    available_at: datetime | None = None,
) -> bool:
    """Store an event once. False when an event with this dedupe key already exists."""
    values = {
        "e_id": new_id("evt"),
        "e_business_id": lead.business_id,
        "e_lead_id": lead.id,
        "e_kind": kind,
        "e_dedupe_key": dedupe_key,
        "e_payload": dict(payload or {}),
        "e_available_at": available_at or now,
        "e_created_at": now,
    }
    connection = session.connection()
    # Core, not ORM: the mailbox is the hot path and needs no identity map. RETURNING, not
    # rowcount: psycopg reports rowcount -1 for this statement, which made every duplicate look new.
    return connection.execute(_insert_event(connection.dialect.name), values).first() is not None


@functools.cache
def _insert_events(dialect: str) -> sa.Insert:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(_EVENTS).on_conflict_do_nothing(index_elements=["dedupe_key"])


def enqueue_many(
    session: Session, events: Sequence[tuple[LeadKeys, str, str]], now: datetime, available_at: datetime | None = None
) -> None:
    """Store many events of one kind of moment at once: (lead, kind, dedupe key) each, without
    payloads (a batch of imported leads). Duplicates are dropped like `enqueue` drops them."""
    if not events:
        return
    connection = session.connection()
    rows = [
        {
            "id": new_id("evt"),
            "business_id": lead.business_id,
            "lead_id": lead.id,
            "kind": kind,
            "dedupe_key": key,
            "payload": {},
            "available_at": available_at or now,
            "created_at": now,
        }
        for lead, kind, key in events
    ]
    connection.execute(_insert_events(connection.dialect.name), rows)


@dataclass(frozen=True)
class BurstHold:
    """How long a lead already in conversation must be quiet before its messages are answered
    (several quick messages get one answer), and the longest any message waits for that."""

    quiet: timedelta
    max_hold: timedelta


def hold_inbound(session: Session, lead_id: str, now: datetime, hold: BurstHold) -> datetime:
    """When the lead's pending messages, and one arriving now, become due: `quiet` after the
    newest, but no later than `max_hold` after the oldest still waiting. Every pending message
    of the lead moves to that moment, so one run drains the whole burst.

    A follow-up timer (or the quiet check that would end a conversation) that would fire before
    then waits with them: the lead has written, so the run that reads the message is the one that
    decides about the follow-up (a reply cancels it), instead of the follow-up going out while the
    message waits."""
    pending = sa.and_(_EVENTS.c.lead_id == lead_id, _EVENTS.c.processed_at.is_(None))
    inbound = sa.and_(pending, _EVENTS.c.kind == INBOUND)
    oldest = session.connection().scalar(sa.select(sa.func.min(_EVENTS.c.created_at)).where(inbound))
    start = oldest if oldest is not None else now  # UTCDateTime hands back aware values
    due = max(now, min(now + hold.quiet, start + hold.max_hold))
    follow_up_sooner = sa.and_(pending, _EVENTS.c.kind.in_((TOUCH_DUE, QUIET_CHECK)), _EVENTS.c.available_at < due)
    session.connection().execute(sa.update(_EVENTS).where(sa.or_(inbound, follow_up_sooner)).values(available_at=due))
    return due


def pending(session: Session, lead_id: str, now: datetime) -> list[Event]:
    rows = session.connection().execute(_pending_events(), {"lead_id": lead_id, "now": now})
    return [Event(id=row.id, kind=row.kind, payload=dict(row.payload or {})) for row in rows]


def mark_processed(session: Session, events: Sequence[Event], now: datetime, outcome: str = "done") -> None:
    if events:
        session.connection().execute(_mark_events(), {"ids": [e.id for e in events], "at": now, "result": outcome})


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
    body = dict(payload or {})
    key = f"{kind}:{lead.id}:{json.dumps(body, sort_keys=True)}:{due.isoformat()}" if due is not None else None
    session.connection().execute(
        _cancel_timers(), {"for_lead": lead.id, "timer_kind": kind, "keep": key or "", "at": now}
    )
    if key is not None and due is not None:
        enqueue(session, lead=lead, kind=kind, dedupe_key=key, now=now, payload=body, available_at=due)


def due_lead_ids(session: Session, now: datetime, limit: int) -> list[str]:
    """Leads with due events and a free lease, oldest due first."""
    connection = session.connection()
    rows = connection.execute(_due_leads(connection.dialect.name), {"now": now, "page": limit})
    return [str(row[0]) for row in rows]


@functools.cache
def _due_leads(dialect: str) -> sa.Select[tuple[str]]:
    # Built once: the tick (and the simulator, at every step) asks this, and building the grouped
    # query cost more than SQLite took to answer it.
    now = sa.bindparam("now", type_=_EVENTS.c.available_at.type)
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
        .limit(sa.bindparam("page", type_=sa.Integer()))
    )
    return skip_locked_on(dialect, query, of=_LEADS)


def claim(session: Session, lead_id: str, owner: str, now: datetime, lease: timedelta) -> int | None:
    """Take the lead's lease; the returned fence proves ownership at commit time.

    On PostgreSQL the lead row is locked with SKIP LOCKED first: a lead another worker is running
    right now is skipped instead of waited for. On SQLite the single writer serialises claims.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        locked = session.scalar(skip_locked(session, sa.select(Lead.id).where(Lead.id == lead_id)))
        if locked is None:
            return None
    result = connection.execute(_take_lease(), {"for_lead": lead_id, "now": now, "owner": owner, "until": now + lease})
    row = result.first()
    return int(row[0]) if row else None


def release(session: Session, lead_id: str, fence: int) -> None:
    """Give the lease back; raises LeaseLost when someone else holds it now."""
    result = session.connection().execute(_give_back_lease(), {"for_lead": lead_id, "held_fence": fence})
    if result.rowcount != 1:
        raise LeaseLost(f"lead {lead_id}: lease fence {fence} is no longer ours")


def has_due(session: Session, lead_id: str, now: datetime) -> bool:
    return session.connection().scalar(_first_due(), {"lead_id": lead_id, "now": now}) is not None


def pending_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        sa.select(LeadEvent.kind, sa.func.count()).where(LeadEvent.processed_at.is_(None)).group_by(LeadEvent.kind)
    )
    return {str(kind): int(count) for kind, count in rows}
