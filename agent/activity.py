"""Recording what the agent decided, with the reason, for people and for the audit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from nudge.ids import new_id
from nudge.models import Lead, LeadActivity, insert_into


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
    # Written with Core at once (several per run): the ORM's unit of work cost more than the rows.
    session.connection().execute(
        insert_into(LeadActivity),
        {
            "id": new_id("act"),
            "business_id": lead.business_id,
            "lead_id": lead.id,
            "at": at,
            "kind": kind,
            "touch": touch,
            "channel": channel,
            "detail": detail,
        },
    )
