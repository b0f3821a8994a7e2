"""Recording what the agent decided, with the reason, for people and for the audit."""

from __future__ import annotations

import functools
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from agent.events.log import LEAD_STAGE_CHANGED, emit, lead_snapshot
from nudge.ids import new_id
from nudge.models import Lead, LeadActivity, insert_into

STAGE = "stage"
_ARROW = " → "


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


def record_stage(session: Session, lead: Lead, at: datetime, before: str, after: str) -> None:
    """A stage change, in the one form `entered_stage` reads back (the audit, withdrawn sends)."""
    record(session, lead, at, STAGE, f"{before}{_ARROW}{after}")
    snapshot = {**lead_snapshot(lead), "stage": after}
    data = {"lead": snapshot, "from": before, "to": after}
    emit(session, business_id=lead.business_id, lead_id=lead.id, type=LEAD_STAGE_CHANGED, data=data, now=at)


def entered_stage(detail: str) -> str | None:
    """The stage a "stage" decision moved the lead into, or None for a note without a change."""
    return detail.rsplit(_ARROW, 1)[1] if _ARROW in detail else None


@functools.cache
def _stage_changes_since() -> sa.Select[str]:
    return sa.select(LeadActivity.detail).where(
        LeadActivity.lead_id == sa.bindparam("lead_id"),
        LeadActivity.kind == STAGE,
        LeadActivity.at > sa.bindparam("since"),
    )


def stages_entered_since(session: Session, lead_id: str, since: datetime) -> list[str]:
    """The stages the lead moved into after `since` (not at it: a run's own changes share its time)."""
    details = session.connection().execute(_stage_changes_since(), {"lead_id": lead_id, "since": since}).scalars()
    return [stage for stage in map(entered_stage, details) if stage is not None]
