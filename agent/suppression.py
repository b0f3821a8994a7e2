"""Opt-outs: one suppression model, per channel or `all`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nudge.models import Lead, OptOut


def suppress(session: Session, lead: Lead, channel: str, reason: str, now: datetime) -> None:
    exists = session.scalars(select(OptOut).where(OptOut.lead_id == lead.id, OptOut.channel == channel)).first()
    if exists is None:
        session.add(
            OptOut(business_id=lead.business_id, lead_id=lead.id, channel=channel, reason=reason, created_at=now)
        )
