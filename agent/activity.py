"""Recording what the agent decided, with the reason, for people and for the audit."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nudge.ids import new_id
from nudge.models import Lead, LeadActivity

_ACTIVITY = cast(sa.Table, LeadActivity.__table__)


@functools.cache
def _insert() -> sa.Insert:
    return sa.insert(_ACTIVITY)


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
        _insert(),
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
