"""The worker loop: dispatcher threads plus one APScheduler job that ticks about once a second.

Timers are rows, not APScheduler jobs: APScheduler 3 cannot share a job store between processes
and drops misfired jobs, while the mailbox survives restarts and scales across workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from scheduler.dispatcher import Dispatcher
from scheduler.imap import InboxWatcher


@contextmanager
def running_workers(
    dispatcher: Dispatcher,
    tick_seconds: float,
    *,
    inboxes: InboxWatcher | None = None,
    inbox_sync_seconds: float = 5.0,
) -> Iterator[BackgroundScheduler]:
    """`inboxes`: the IMAP mailboxes' readers, started and stopped by a job of their own."""
    dispatcher.start()
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(
        dispatcher.tick,
        "interval",
        seconds=tick_seconds,
        id="nudge-tick",
        max_instances=1,  # a slow tick is never run twice at once…
        coalesce=True,  # …and missed ticks collapse into one
        next_run_time=datetime.now(UTC),
    )
    if inboxes is not None:
        scheduler.add_job(
            inboxes.sync,
            "interval",
            seconds=inbox_sync_seconds,
            id="nudge-imap-sync",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
    scheduler.start()
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=True)
        if inboxes is not None:
            inboxes.stop()
        dispatcher.stop()
