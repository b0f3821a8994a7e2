"""A run that fails inside a batch fails its own lead only: the batch's other leads still get their
touch, once, and the failed lead's events wait in the mailbox for the next attempt."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from nudge.db import transaction
from nudge.models import Lead, LeadEvent, Message
from nudge.runtime import Runtime, open_runtime
from scheduler import mailbox
from tests.conftest import make_settings
from tests.support.workers import create_due_leads, create_sample_business


def _sent_touches(engine: sa.Engine) -> dict[str, list[int | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Message.lead_id, Message.touch)
            .where(Message.direction == "out", Message.sent_at.is_not(None))
            .order_by(Message.created_at)
        )
        found: dict[str, list[int | None]] = {}
        for lead_id, touch in rows:
            found.setdefault(str(lead_id), []).append(touch)
    return found


def _counted_sends(runtime: Runtime) -> float:
    """nudge_messages_sent_total over every channel, as /metrics reports it."""
    return sum(
        sample.value
        for metric in runtime.metrics.registry.collect()
        for sample in metric.samples
        if sample.name == "nudge_messages_sent_total"
    )


def test_a_failing_run_in_a_batch_leaves_the_other_leads_sent_once_and_its_own_events_waiting(
    any_database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with open_runtime(make_settings(any_database_url, tmp_path)) as runtime:
        lead_ids = create_due_leads(runtime, create_sample_business(runtime), 4)
        poisoned = lead_ids[1]  # one lead runs before it in the batch, two after
        now = runtime.clock.now()
        with transaction(runtime.sessions) as session:
            lead = session.get(Lead, poisoned)
            assert lead is not None
            # A malformed event (no message id) makes this lead's run raise in `absorb`.
            mailbox.enqueue(session, lead=lead, kind="delivery_failed", dedupe_key="poison", now=now, payload={})

        with caplog.at_level(logging.ERROR, logger="scheduler.dispatcher"):
            runs = runtime.dispatcher.process_batch(lead_ids)

        assert runs == 3
        assert _counted_sends(runtime) == 3  # the rolled-back first attempt counted nothing
        assert any(poisoned in record.getMessage() for record in caplog.records)
        sent = _sent_touches(runtime.engine)
        assert {lead_id: sent.get(lead_id) for lead_id in lead_ids} == {
            lead_ids[0]: [1],
            poisoned: None,
            lead_ids[2]: [1],
            lead_ids[3]: [1],
        }
        with transaction(runtime.sessions) as session:
            waiting = set(
                session.scalars(
                    sa.select(LeadEvent.kind).where(LeadEvent.lead_id == poisoned, LeadEvent.processed_at.is_(None))
                )
            )
            left = session.get(Lead, poisoned)
            assert left is not None
            assert (left.lease_until, left.checkpoint_id, left.last_touch) == (None, None, 0)
        assert waiting == {"lead_created", "delivery_failed"}

        # Once the bad event is gone, the lead gets its touch 1; nobody gets anything twice.
        with transaction(runtime.sessions) as session:
            session.execute(
                sa.update(LeadEvent).where(LeadEvent.dedupe_key == "poison").values(processed_at=now, outcome="dropped")
            )
        assert runtime.dispatcher.process_batch(lead_ids) == 1
        sent = _sent_touches(runtime.engine)
        assert {lead_id: sent.get(lead_id) for lead_id in lead_ids} == {lead_id: [1] for lead_id in lead_ids}
        assert _counted_sends(runtime) == 4
