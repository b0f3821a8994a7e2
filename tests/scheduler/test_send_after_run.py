"""What a run queues goes to the provider right after the run commits, on the real clock too.

DESIGN.md: inbound does not wait for the tick, so touch 1 and replies leave in well under a second.
These run the dispatcher without any scheduler tick, so only the run's own delivery can send.
"""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa

from agent.channels import OutboundMessage
from agent.outbound import ChannelChoice, queue_message
from nudge.db import transaction
from nudge.models import Business, Lead, Outbox
from nudge.runtime import open_runtime
from tests.conftest import make_settings
from tests.support.workers import create_due_leads, create_sample_business, progress


def test_run_due_on_the_system_clock_sends_what_its_runs_queued(any_database_url: str, tmp_path: Path) -> None:
    with open_runtime(make_settings(any_database_url, tmp_path)) as runtime:
        create_due_leads(runtime, create_sample_business(runtime), 5)
        assert runtime.dispatcher.run_due() == 5
        state = progress(runtime.engine)
    assert state.outbox == {"sent": 5}, state
    assert state.sent_touch1 == 5


def test_a_woken_lead_is_answered_without_waiting_for_a_tick(any_database_url: str, tmp_path: Path) -> None:
    with open_runtime(make_settings(any_database_url, tmp_path)) as runtime:
        lead_ids = create_due_leads(runtime, create_sample_business(runtime), 3)
        runtime.dispatcher.start()  # worker threads, but no APScheduler tick
        started = time.monotonic()
        for lead_id in lead_ids:
            runtime.dispatcher.wake(lead_id)  # what a webhook does
        while progress(runtime.engine).sent_touch1 < 3 and time.monotonic() - started < 5:
            time.sleep(0.02)
        waited = time.monotonic() - started
        state = progress(runtime.engine)
    assert state.sent_touch1 == 3, f"after {waited:.1f}s: {state}"


def test_a_send_whose_lead_was_erased_meanwhile_is_not_recorded_and_the_rest_still_go(
    any_database_url: str, tmp_path: Path
) -> None:
    """A privacy erasure can delete a lead (and its outbox rows) while one of its messages is with
    the provider: recording that send must not fail the messages claimed after it."""
    with open_runtime(make_settings(any_database_url, tmp_path)) as runtime:
        claimed = [
            (f"out_gone_{n}", OutboundMessage(message_id=f"msg_{n}", channel="sms", to="+15550001", sender=sender))
            for n, sender in enumerate(["+15550002", "+15550003", "+15550003"])
        ]
        report = runtime.deliverer.send_claimed(claimed)
    # The third usually waits for its sender's rate (then there is no row left to put back).
    assert report.failed == 0 and report.sent >= 2 and report.sent + report.deferred == 3, report


def test_a_queued_row_that_is_no_longer_pending_at_the_commit_is_not_claimed(
    any_database_url: str, tmp_path: Path
) -> None:
    """The run's claim of what it queued only takes rows still pending (as the sweep does)."""
    with open_runtime(make_settings(any_database_url, tmp_path)) as runtime:
        lead_id = create_due_leads(runtime, create_sample_business(runtime), 1)[0]
        now = runtime.clock.now()
        with transaction(runtime.sessions) as session:
            lead = session.get(Lead, lead_id)
            business = session.get(Business, lead.business_id) if lead else None
            assert lead is not None and business is not None
            choice = ChannelChoice(channel="sms", to=lead.phone or "", sender=business.sms_from or "")
            kept, taken_back = (
                queue_message(
                    session,
                    lead=lead,
                    choice=choice,
                    body=body,
                    now=now,
                    touch=None,
                    author="agent",
                    composer="template",
                )
                for body in ("one", "two")
            )
            session.execute(sa.update(Outbox).where(Outbox.id == taken_back.outbox_id).values(status="failed"))
            claimed = runtime.deliverer.claim_queued(session, lead=lead, business=business, now=now)
            statuses = dict(session.execute(sa.select(Outbox.id, Outbox.status)).tuples().all())
    # The sandbox records its send with the claim; the row taken back is left as it was.
    assert claimed == [] and statuses[kept.outbox_id] == "sent" and statuses[taken_back.outbox_id] == "failed"
