"""Privacy requests: everything held about a lead (export), and erasing it (delete).

Erasure removes the lead row; every table that holds the lead's data references it with
ON DELETE CASCADE (messages, mailbox, outbox, decisions, links, opt-outs, handoffs and their
rep notifications, bookings, the domain events for webhooks and CRMs and their deliveries). The
LangGraph checkpoints live outside these tables and are deleted by the caller after the commit
(`checkpointer.erase_thread`). On SQLite, secure_delete zeroes what the delete frees and the WAL
is truncated after the commit, so no copy stays in the files either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nudge.db import truncate_wal_after_commit
from nudge.models import (
    Base,
    Booking,
    Conversion,
    DomainEvent,
    Handoff,
    Lead,
    LeadActivity,
    LeadEvent,
    LlmUsage,
    Message,
    Notification,
    OptOut,
    TrackedLink,
)


def _row(obj: Base, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr in sa.inspect(type(obj)).column_attrs:
        name = attr.columns[0].name  # the column's name ("metadata"), not the Python attribute ("extra")
        if name in exclude:
            continue
        value = getattr(obj, attr.key)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def export_lead(session: Session, lead: Lead) -> dict[str, Any]:
    def rows(model: type[Base], column: Any) -> list[dict[str, Any]]:
        return [_row(r) for r in session.scalars(sa.select(model).where(column == lead.id))]

    handoffs = list(session.scalars(sa.select(Handoff).where(Handoff.lead_id == lead.id)))
    notifications = (
        [
            _row(n)
            for n in session.scalars(
                sa.select(Notification).where(Notification.handoff_id.in_([h.id for h in handoffs]))
            )
        ]
        if handoffs
        else []
    )
    return {
        "lead": _row(lead, exclude=("lease_owner", "lease_until", "fence", "checkpoint_id", "graph_paused")),
        "messages": rows(Message, Message.lead_id),
        "events": rows(LeadEvent, LeadEvent.lead_id),
        "decisions": rows(LeadActivity, LeadActivity.lead_id),
        "opt_outs": rows(OptOut, OptOut.lead_id),
        "tracked_links": rows(TrackedLink, TrackedLink.lead_id),
        "conversions": rows(Conversion, Conversion.lead_id),
        "bookings": rows(Booking, Booking.lead_id),
        "llm_usage": rows(LlmUsage, LlmUsage.lead_id),
        "handoffs": [_row(h) for h in handoffs],
        "rep_notifications": notifications,
        "outbound_events": rows(DomainEvent, DomainEvent.lead_id),
    }


def erase_lead(session: Session, lead: Lead) -> None:
    """Delete the lead and, by cascade, everything that holds its data."""
    session.delete(lead)
    session.flush()
    truncate_wal_after_commit(session)
