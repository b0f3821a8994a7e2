"""The domain-event log, a transactional outbox.

`emit` is called from the one place where each thing happens (a stage change in
`agent.activity.record_stage`, a conversion in `agent.conversions`, an opt-out in
`agent.suppression`, a send in `scheduler.delivery`…), on the caller's connection, so the event
commits or rolls back with the change. An event is written only when an enabled webhook endpoint
or connector of the business subscribes to its type, with one `EventDelivery` per subscriber;
delivery happens after the commit (`scheduler.events`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nudge.ids import new_id
from nudge.models import Connector, DomainEvent, EventDelivery, Lead, WebhookEndpoint, insert_into, table_of

LEAD_CREATED: Final = "lead.created"
LEAD_STAGE_CHANGED: Final = "lead.stage_changed"
LEAD_ESCALATED: Final = "lead.escalated"
HANDOFF_CLAIMED: Final = "handoff.claimed"
HANDOFF_RESOLVED: Final = "handoff.resolved"
LEAD_CONVERTED: Final = "lead.converted"
LEAD_OPTED_OUT: Final = "lead.opted_out"
MESSAGE_SENT: Final = "message.sent"
MESSAGE_FAILED: Final = "message.failed"

EVENT_TYPES: Final = (
    LEAD_CREATED,
    LEAD_STAGE_CHANGED,
    LEAD_ESCALATED,
    HANDOFF_CLAIMED,
    HANDOFF_RESOLVED,
    LEAD_CONVERTED,
    LEAD_OPTED_OUT,
    MESSAGE_SENT,
    MESSAGE_FAILED,
)

_ENDPOINTS = table_of(WebhookEndpoint)
_CONNECTORS = table_of(Connector)
_EVENTS = table_of(DomainEvent)


@functools.cache
def _subscribers() -> sa.CompoundSelect[tuple[str, Any]]:
    # Built once: it runs for every send and stage change. Core names the business itself.
    endpoints = sa.select(_ENDPOINTS.c.id, _ENDPOINTS.c.events).where(
        _ENDPOINTS.c.business_id == sa.bindparam("business_id"), _ENDPOINTS.c.enabled.is_(True)
    )
    connectors = sa.select(_CONNECTORS.c.id, _CONNECTORS.c.config["events"].label("events")).where(
        _CONNECTORS.c.business_id == sa.bindparam("business_id"), _CONNECTORS.c.enabled.is_(True)
    )
    return sa.union_all(endpoints, connectors)


def wants(filter_: Any, event_type: str) -> bool:
    """An endpoint's filter: a list of event types, empty (or absent) for every type."""
    return not filter_ or event_type in filter_


def lead_snapshot(lead: Lead | Mapping[str, Any]) -> dict[str, Any]:
    """What receivers get to know about the lead in every lead event."""
    get = lead.get if isinstance(lead, Mapping) else functools.partial(getattr, lead)
    return {
        "id": get("id"),
        "name": get("name") or "",
        "email": get("email"),
        "phone": get("phone"),
        "external_id": get("external_id", None),
        "source": get("source"),
        "stage": get("stage", None) or "new",
        "industry": get("industry", None),
        "locale": get("locale", None),
    }


def emit(
    session: Session | sa.Connection,
    *,
    business_id: str,
    lead_id: str | None,
    type: str,  # the event type, as named in the payload
    data: Mapping[str, Any],
    now: datetime,
) -> str | None:
    """Log the event and queue it for every subscriber; the event's id, or None when nobody
    subscribes to this type (then nothing is written)."""
    connection = session.connection() if isinstance(session, Session) else session
    found = connection.execute(_subscribers(), {"business_id": business_id}).all()
    subscribers = [row.id for row in found if wants(row.events, type)]
    if not subscribers:
        return None
    event_id = new_id("evt")
    seq = connection.execute(
        _EVENTS.insert().returning(_EVENTS.c.seq),
        {
            "id": event_id,
            "business_id": business_id,
            "lead_id": lead_id,
            "type": type,
            "data": dict(data),
            "occurred_at": now,
        },
    ).scalar_one()
    connection.execute(
        insert_into(EventDelivery),
        [
            {
                "id": new_id("dlv"),
                "business_id": business_id,
                "event_seq": seq,
                "subscriber_id": subscriber,
                "lead_id": lead_id,
                "status": "pending",
                "attempts": 0,
                "available_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for subscriber in subscribers
        ],
    )
    return event_id
