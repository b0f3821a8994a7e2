"""Tracked links: every URL in a message becomes `/r/{token}` so a click is a signal."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.orm import Session

from nudge.models import Lead, TrackedLink


def track(session: Session, *, lead: Lead, url: str, touch: int | None, public_url: str, now: datetime) -> str:
    token = secrets.token_urlsafe(16)  # unguessable: a link names nothing but itself
    session.add(
        TrackedLink(token=token, business_id=lead.business_id, lead_id=lead.id, touch=touch, url=url, created_at=now)
    )
    return f"{public_url}/r/{token}"
