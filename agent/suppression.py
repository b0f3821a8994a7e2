"""Opt-outs: one suppression model, per channel or `all`."""

from __future__ import annotations

import functools
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from agent.events.log import LEAD_OPTED_OUT, emit, lead_snapshot
from nudge.ids import new_id
from nudge.models import Lead, OptOut, insert_into, table_of

_OPT_OUTS = table_of(OptOut)


@functools.cache
def _exists() -> sa.Select[str]:
    return sa.select(_OPT_OUTS.c.id).where(
        _OPT_OUTS.c.lead_id == sa.bindparam("lead_id"), _OPT_OUTS.c.channel == sa.bindparam("channel")
    )


def suppress(session: Session, lead: Lead, channel: str, reason: str, now: datetime) -> None:
    # Core, written at once: the run's later reads (opted-out channels) go straight to the table.
    connection = session.connection()
    if connection.execute(_exists(), {"lead_id": lead.id, "channel": channel}).first() is None:
        connection.execute(
            insert_into(OptOut),
            {
                "id": new_id("opt"),
                "business_id": lead.business_id,
                "lead_id": lead.id,
                "channel": channel,
                "reason": reason,
                "created_at": now,
            },
        )
        data = {"lead": lead_snapshot(lead), "channel": channel, "reason": reason}
        emit(connection, business_id=lead.business_id, lead_id=lead.id, type=LEAD_OPTED_OUT, data=data, now=now)
