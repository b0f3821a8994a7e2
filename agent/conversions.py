"""Recording a conversion (a sale, a booking) in the ledger attribution reads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.events.log import LEAD_CONVERTED, emit, lead_snapshot
from nudge.models import Conversion, Lead

CONVERSION_TYPES = frozenset({"converted", "won", "booked"})


def record_conversion(
    session: Session,
    lead: Lead,
    *,
    kind: str,
    value: float | None,
    currency: str | None,
    source: str,
    at: datetime,
    dedupe_key: str,
) -> bool:
    """False when this conversion is already recorded (the same event delivered twice)."""
    if kind not in CONVERSION_TYPES:
        return False
    if session.scalar(select(Conversion.id).where(Conversion.dedupe_key == dedupe_key)) is not None:
        return False
    session.add(
        Conversion(
            business_id=lead.business_id,
            lead_id=lead.id,
            kind=kind,
            value=value,
            currency=currency,
            source=source,
            dedupe_key=dedupe_key,
            occurred_at=at,
            created_at=at,
        )
    )
    data = {"lead": lead_snapshot(lead), "kind": kind, "value": value, "currency": currency, "source": source}
    emit(session, business_id=lead.business_id, lead_id=lead.id, type=LEAD_CONVERTED, data=data, now=at)
    return True
