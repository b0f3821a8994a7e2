"""Queueing audience changes inside the caller's transaction (a graph run, a request).

A job stores hashes only, computed now, so a removal can still be sent after the lead is erased.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent import activity
from agent.audiences.base import AudienceAction
from agent.audiences.hashing import contact_hashes
from nudge.models import AudienceJob, Business, Lead


def _last_action(session: Session, lead_id: str) -> str | None:
    return session.scalar(
        select(AudienceJob.action)
        .where(AudienceJob.lead_id == lead_id)
        .order_by(AudienceJob.created_at.desc(), AudienceJob.id.desc())
        .limit(1)
    )


def queue_audience(
    session: Session, lead: Lead, business: Business, action: AudienceAction, reason: str, now: datetime
) -> bool:
    """Queue an add or a remove; False when there is nothing to do (no audiences configured, no
    contact to match, already in that state)."""
    destinations: list[Any] = business.audiences or []
    if not destinations:
        return False
    hashes = contact_hashes(lead.email, lead.phone)
    if not hashes:
        return False
    last = _last_action(session, lead.id)
    if last == action or (action == "remove" and last is None):
        return False
    what = "added to" if action == "add" else "removed from"
    activity.record(session, lead, now, "audience", f"{what} the retargeting audience ({reason.replace('_', ' ')})")
    session.add(
        AudienceJob(
            business_id=lead.business_id,
            lead_id=lead.id,
            action=action,
            reason=reason,
            hashes=hashes,
            available_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    return True
