"""Recording what the agent decided, with the reason, for people and for the audit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from nudge.models import Lead, LeadActivity


def record(
    session: Session,
    lead: Lead,
    at: datetime,
    kind: str,
    detail: str = "",
    *,
    touch: int | None = None,
    channel: str | None = None,
) -> None:
    session.add(
        LeadActivity(
            business_id=lead.business_id,
            lead_id=lead.id,
            at=at,
            kind=kind,
            touch=touch,
            channel=channel,
            detail=detail,
        )
    )
