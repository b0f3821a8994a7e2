"""Two worker processes on one PostgreSQL database: every due touch exactly once, one run per lead.

2,000 web-form leads are created through Nudge's intake, so each has touch 1 due now. Two real
worker processes (open_runtime + running_workers, like `nudge worker`) drain them. Evidence:

- Nudge's transcript and outbox: one touch-1 message per lead, sent; nothing left pending.
- The stand-in provider's ledger, written by both processes: one accepted message per lead.
- Run intervals: both processes log the start and end of every graph run; no two runs of the
  same lead intersect.
- Lease history from the database itself: a trigger on `leads` records every lease change
  (owner, fence, clock_timestamp()); each claim must be released by its owner, with its fence,
  before the next claim of that lead.

A second, smaller test runs two plain `nudge worker` processes (no instrumentation at all) and
checks the transcript and the lease history.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from nudge.db import create_db_engine
from nudge.models import Lead, LeadEvent, Outbox
from nudge.runtime import open_runtime
from tests.conftest import make_settings, postgres_schema
from tests.support.workers import (
    WorkerProcess,
    create_due_leads,
    create_sample_business,
    ledger_by_lead_touch,
    outbound_by_lead_touch,
    overlapping_runs,
    progress,
    runs_from_logs,
    spawn_worker,
    wait_until,
    worker_env,
)

pytestmark = pytest.mark.postgres

LEADS = 600

LEASE_AUDIT = [
    """CREATE TABLE lease_audit (
           id bigserial PRIMARY KEY,
           lead_id text NOT NULL,
           old_owner text,
           new_owner text,
           old_fence integer,
           new_fence integer,
           old_until timestamptz,
           new_until timestamptz,
           at timestamptz NOT NULL DEFAULT clock_timestamp(),
           tx bigint NOT NULL DEFAULT txid_current())""",
    """CREATE FUNCTION lease_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.lease_owner IS DISTINCT FROM OLD.lease_owner OR NEW.fence IS DISTINCT FROM OLD.fence
            OR NEW.lease_until IS DISTINCT FROM OLD.lease_until THEN
           INSERT INTO lease_audit (lead_id, old_owner, new_owner, old_fence, new_fence, old_until, new_until)
           VALUES (NEW.id, OLD.lease_owner, NEW.lease_owner, OLD.fence, NEW.fence, OLD.lease_until, NEW.lease_until);
         END IF;
         RETURN NEW;
       END $$""",
    "CREATE TRIGGER leads_lease_audit AFTER UPDATE ON leads FOR EACH ROW EXECUTE FUNCTION lease_audit_row()",
]


@dataclass(frozen=True)
class LeaseChange:
    lead_id: str
    old_owner: str | None
    new_owner: str | None
    old_fence: int
    new_fence: int
    old_until: datetime | None
    new_until: datetime | None
    at: datetime


def install_lease_audit(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for statement in LEASE_AUDIT:
            conn.exec_driver_sql(statement)


def lease_changes(engine: sa.Engine) -> list[LeaseChange]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT lead_id, old_owner, new_owner, old_fence, new_fence, old_until, new_until, at "
            "FROM lease_audit ORDER BY at, id"
        ).all()
    return [LeaseChange(*row) for row in rows]


def lease_violations(changes: list[LeaseChange]) -> tuple[list[str], Counter[str]]:
    """Replays each lead's lease history (a claim bumps the fence and sets `lease_until`; a release
    clears `lease_until` under the same fence). Problems: a claim while the lease is held and
    unexpired, a release under a fence that is not the holder's, a lease never given back.
    Returns (problems, claims per worker process)."""
    problems: list[str] = []
    claims: Counter[str] = Counter()
    by_lead: dict[str, list[LeaseChange]] = defaultdict(list)
    for change in changes:
        by_lead[change.lead_id].append(change)
    for lead_id, history in by_lead.items():
        held: LeaseChange | None = None
        for change in history:
            if change.new_fence != change.old_fence:
                if change.new_fence != change.old_fence + 1 or change.new_until is None or change.new_owner is None:
                    problems.append(f"{lead_id}: odd lease change {change}")
                if held is not None:
                    assert held.new_until is not None
                    expired = " (expired)" if held.new_until < change.at else ""
                    problems.append(
                        f"{lead_id}: claimed by {change.new_owner} at {change.at} while {held.new_owner} "
                        f"held fence {held.new_fence}{expired} since {held.at}"
                    )
                held = change
                claims[_process_of(change.new_owner or "")] += 1
            elif change.old_until is not None and change.new_until is None:
                if held is None:
                    problems.append(f"{lead_id}: released at {change.at} under fence {change.new_fence}, unclaimed")
                elif change.new_fence != held.new_fence:
                    problems.append(
                        f"{lead_id}: released under fence {change.new_fence} but "
                        f"{held.new_owner} held fence {held.new_fence}"
                    )
                held = None
        if held is not None:
            problems.append(f"{lead_id}: lease of {held.new_owner} (fence {held.new_fence}) never released")
    return problems, claims


def _process_of(owner: str) -> str:
    """Dispatcher owners are host:pid:suffix."""
    parts = owner.split(":")
    return parts[1] if len(parts) >= 3 else owner


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


def _prepare(url: str, tmp_path: Path, leads: int) -> tuple[sa.Engine, list[str]]:
    settings = make_settings(url, tmp_path)
    with open_runtime(settings) as runtime:  # migrates the schema, LangGraph's tables too
        business_id = create_sample_business(runtime)
        lead_ids = create_due_leads(runtime, business_id, leads)
    engine = create_db_engine(url, pool_size=2)
    install_lease_audit(engine)
    return engine, lead_ids


def _stop_all(workers: list[WorkerProcess]) -> list[int]:
    return [worker.stop() for worker in workers]


@pytest.mark.slow
def test_two_worker_processes_send_every_due_touch_once_and_never_run_a_lead_twice_at_once(
    pg_url: str, tmp_path: Path
) -> None:
    engine, lead_ids = _prepare(pg_url, tmp_path, LEADS)
    ledger, run_log = tmp_path / "ledger.jsonl", tmp_path / "runs.jsonl"
    env = worker_env(pg_url, tmp_path, NUDGE_TEST_LEDGER=ledger, NUDGE_TEST_RUN_LOG=run_log, NUDGE_TICK_SECONDS=0.5)
    workers = [spawn_worker(name, env, tmp_path) for name in ("worker-a", "worker-b")]
    try:
        for worker in workers:
            worker.wait_ready()
        seconds = wait_until(lambda: progress(engine).done, 80, what="every due touch sent", workers=workers)
    finally:
        codes = _stop_all(workers)
    assert codes == [0, 0], [w.output()[-2000:] for w in workers]

    # Nudge's own record: exactly one touch-1 message per lead, sent, and nothing else yet.
    outbound = outbound_by_lead_touch(engine)
    assert {key for key, ids in outbound.items() if len(ids) != 1} == set()
    assert set(outbound) == {(lead_id, 1) for lead_id in lead_ids}
    final = progress(engine)
    assert final.outbox == {"sent": LEADS}, final

    # The outside world's record: each lead's touch 1 reached the provider exactly once.
    delivered = ledger_by_lead_touch(engine, [ledger])
    doubled = {key: ids for key, ids in delivered.items() if len(ids) > 1}
    assert doubled == {}, f"{len(doubled)} touches sent more than once, e.g. {list(doubled.items())[:3]}"
    assert set(delivered) == {(lead_id, 1) for lead_id in lead_ids}

    # Both processes ran leads, and no lead was ever in two graph runs at once.
    runs = runs_from_logs([run_log])
    assert all(run.end is not None for run in runs)
    per_process = Counter(run.pid for run in runs)
    assert set(per_process) == {w.pid for w in workers}, per_process
    assert {run.lead for run in runs if run.ok} == set(lead_ids)
    clashes = overlapping_runs(runs)
    assert clashes == [], f"{len(clashes)} overlapping runs, e.g. {clashes[:3]}"

    # The database's own lease history agrees: claim → release by the same owner and fence.
    problems, claims = lease_violations(lease_changes(engine))
    assert problems == [], problems[:5]
    assert set(claims) == {str(w.pid) for w in workers}, claims

    # The rows the runs committed: every lease free, every lead on to touch 2 with one timer,
    # and its checkpoint pointer naming a checkpoint LangGraph actually holds.
    with engine.connect() as conn:
        leases = conn.scalar(sa.select(sa.func.count()).where(Lead.lease_until.is_not(None)))
        stages = dict(conn.execute(sa.select(Lead.stage, sa.func.count()).group_by(Lead.stage)).all())
        timers = conn.execute(
            sa.select(LeadEvent.lead_id, sa.func.count())
            .where(LeadEvent.kind == "touch_due", LeadEvent.processed_at.is_(None))
            .group_by(LeadEvent.lead_id)
        ).all()
        dangling = conn.scalar(
            sa.text(
                "SELECT count(*) FROM leads l WHERE l.checkpoint_id IS NULL OR NOT EXISTS ("
                "SELECT 1 FROM checkpoints c WHERE c.thread_id = l.id AND c.checkpoint_id = l.checkpoint_id)"
            )
        )
        sent_rows = conn.scalar(sa.select(sa.func.count()).where(Outbox.status == "sent"))
    assert leases == 0
    assert stages == {"contacted": LEADS}
    assert len(timers) == LEADS and {count for _, count in timers} == {1}
    assert dangling == 0
    assert sent_rows == LEADS
    print(
        f"\n{LEADS} leads drained by 2 processes in {seconds:.1f}s; graph runs per process "
        f"{dict(per_process)}; lease claims per process {dict(claims)}"
    )
    engine.dispose()


def test_two_plain_nudge_worker_processes_share_the_leads_without_doubles(pg_url: str, tmp_path: Path) -> None:
    """No instrumentation at all: `.venv/bin/nudge worker` twice, evidence from the database."""
    leads = 200
    engine, lead_ids = _prepare(pg_url, tmp_path, leads)
    env = worker_env(pg_url, tmp_path, NUDGE_TICK_SECONDS=0.5)
    workers = [spawn_worker(name, env, tmp_path, cli=True) for name in ("cli-a", "cli-b")]
    try:
        wait_until(lambda: progress(engine).done, 60, what="every due touch sent", workers=workers)
    finally:
        codes = _stop_all(workers)
    assert codes == [0, 0], [w.output()[-2000:] for w in workers]
    outbound = outbound_by_lead_touch(engine)
    assert set(outbound) == {(lead_id, 1) for lead_id in lead_ids}
    assert {key for key, ids in outbound.items() if len(ids) != 1} == set()
    assert progress(engine).outbox == {"sent": leads}
    problems, claims = lease_violations(lease_changes(engine))
    assert problems == [], problems[:5]
    assert len(claims) == 2, f"both processes should have claimed leads: {claims}"
    engine.dispose()
