"""The link in a rep's notification that opens the handoff in the console, signed in as that rep.

A random token (only its SHA-256 is stored, like API keys) that expires after `LINK_TTL`: long
enough to open it from a phone after a meeting, short enough that a forwarded or leaked message
soon opens nothing. The console (`api.console`) redeems it; it grants that rep that handoff only.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from nudge.models import RepLink

LINK_TTL = timedelta(hours=4)
PATH = "/console/open/"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: Session, *, business_id: str, rep_id: str, handoff_id: str, now: datetime, public_url: str) -> str:
    """A new link for the rep to open the handoff; returns its URL."""
    token = secrets.token_urlsafe(24)
    session.add(
        RepLink(
            business_id=business_id,
            rep_id=rep_id,
            handoff_id=handoff_id,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + LINK_TTL,
        )
    )
    return f"{public_url.rstrip('/')}{PATH}{token}"
