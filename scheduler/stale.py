"""Jobs a dead worker left `sending`: rep notifications and audience jobs go back to the queue.

Both are claimed (`sending`) in one transaction and sent after it, so a worker killed between the
two leaves a row nobody will finish. A row still `sending` STALE_CLAIM after its claim is taken
back: every client that sends these has a timeout well under that, so no live worker still holds
it. Unlike the outbox (which asks the provider with `find_sent`), these are sent again: a rep told
twice beats a rep never told, and adding or removing an audience member is idempotent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from nudge.models import AudienceJob, Notification

STALE_CLAIM = timedelta(minutes=2)
RETRIED = "the worker sending it stopped before recording the outcome; sent again"
GAVE_UP = "the worker sending it stopped before recording the outcome, on its last attempt"
SUPERSEDED = "the worker sending it stopped; a later job for the lead has replaced it"


def release_stale(
    session: Session, model: type[Notification] | type[AudienceJob], *, now: datetime, max_attempts: int
) -> None:
    """Back to `pending` (due now) every row of `model` claimed over STALE_CLAIM ago and still
    `sending`; `failed` when that claim was its last attempt."""
    stale = sa.and_(model.status == "sending", model.updated_at < now - STALE_CLAIM)
    if model is AudienceJob:
        # Re-sending an add after a later remove went out would leave the lead in the audience.
        later = aliased(AudienceJob)
        newer = sa.exists().where(later.lead_id == AudienceJob.lead_id, later.created_at > AudienceJob.created_at)
        _update(session, model, sa.and_(stale, AudienceJob.lead_id.is_not(None), newer), "failed", SUPERSEDED, now)
    _update(session, model, sa.and_(stale, model.attempts >= max_attempts), "failed", GAVE_UP, now)
    _update(session, model, stale, "pending", RETRIED, now, available_at=now)


def _update(
    session: Session,
    model: type[Notification] | type[AudienceJob],
    where: sa.ColumnElement[bool],
    status: str,
    error: str,
    now: datetime,
    **values: datetime,
) -> None:
    statement = sa.update(model).where(where).values(status=status, last_error=error, updated_at=now, **values)
    session.execute(statement.execution_options(synchronize_session=False))
