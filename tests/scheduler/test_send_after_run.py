"""What a run queues goes to the provider right after the run commits, on the real clock too.

DESIGN.md: inbound does not wait for the tick, so touch 1 and replies leave in well under a second.
These run the dispatcher without any scheduler tick, so only the run's own delivery can send.
"""

from __future__ import annotations

import time
from pathlib import Path

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
