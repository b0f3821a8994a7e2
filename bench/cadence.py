"""Cadence benchmark: dispatch throughput, timer lateness, worker memory, checkpoint size.

    .venv/bin/python -m bench.cadence [--json FILE] [--quick]

Everything runs on SQLite in temporary directories, with sandbox channels and the template
composer (no LLM), through Nudge's own runtime (`open_runtime`).

1. Touches dispatched per second.
   a. Synchronous `Dispatcher.run_due` on a virtual clock: N web-form leads of the sample business
      (with the sample case studies) arrive at once and the clock jumps to each next due timer
      until the 7-touch sequence is over: every touch, with its policies and assets. Only the time
      spent in run_due/deliver counts.
   b. Threaded dispatcher with the real APScheduler tick (`scheduler.service.running_workers`,
      system clock): N leads with touch 1 due now; from the workers' start until every touch-1
      message is sent.
   c. Floor: as many runs as (a) made, each a bare LangGraph invoke (one trivial node) on the same
      checkpointer kind, thread per lead, durability="exit": LangGraph and its checkpointer alone.
      The summary prints what share of the floor's rate (a) reaches.
2. Timer lateness: workers running (real tick, default NUDGE_TICK_SECONDS, system clock); M leads
   that already got touch 1 have their touch-2 timer moved to known moments 3–11 s ahead;
   lateness = the message's sent_at minus the timer's available_at.
3. RSS of a worker process holding 1k and 100k leads with pending timers (rows bulk-inserted with
   SQLAlchemy core; timers due tomorrow), each measured in a fresh subprocess: open_runtime +
   running_workers, a warm-up of 200 due leads through the whole pipeline, then a few ticks over
   the pending set; VmRSS from /proc. Baseline: the naive design, one APScheduler 3 date-trigger job
   per lead in a BackgroundScheduler with a MemoryJobStore, both inside the same warmed-up worker
   ("naive worker") and in a bare process with APScheduler alone ("bare APScheduler").
4. Checkpoint bytes per lead after a full 7-touch sequence: the simulator runs silent leads for 70
   days, then the rows of each lead's thread in the checkpoint SQLite file
   (graph.checkpointer.checkpoint_path_for) are measured (checkpoint + metadata + pending writes),
   also after the first run for comparison.

Targets (SQLite): ≥200 touches/s, lateness p99 < 2 s, RSS at 100k leads < 1.3× RSS at 1k.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict

import sqlalchemy as sa
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from graph.checkpointer import checkpoint_path_for, open_checkpointer
from nudge.clock import VirtualClock
from nudge.db import transaction
from nudge.ids import new_id
from nudge.models import Lead, LeadEvent, Message, Outbox
from nudge.runtime import Runtime, open_runtime
from nudge.settings import Settings
from nudge.sim.engine import Simulation
from nudge.sim.personas import Persona
from nudge.sim.setup import DEFAULT_START, create_sample_businesses, simulation_runtime
from scheduler.service import running_workers
from tests.support.workers import create_due_leads, create_sample_business

TARGET_TOUCHES_PER_S = 200.0
TARGET_LATENESS_P99_S = 2.0
TARGET_RSS_RATIO = 1.3
WARM_LEADS = 200


class SkippedTicks(logging.Handler):
    """Counts APScheduler's "maximum number of running instances reached": a tick still running
    when the next one was due (the job has max_instances=1), instead of printing each one."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "maximum number of running instances" in record.getMessage():
            self.count += 1


SKIPPED_TICKS = SkippedTicks()
_apscheduler_log = logging.getLogger("apscheduler.scheduler")
_apscheduler_log.addHandler(SKIPPED_TICKS)
_apscheduler_log.propagate = False


def say(message: str) -> None:
    print(message, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def settings_for(workdir: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "NUDGE_DATABASE_URL": f"sqlite:///{(workdir / 'nudge.db').as_posix()}",
        "NUDGE_DATA_DIR": str(workdir),
        "NUDGE_CHANNELS": "sandbox",
        "NUDGE_PUBLIC_URL": "https://nudge.example",
        "NUDGE_LOG_LEVEL": "WARNING",
    }
    values.update(extra)
    return Settings(_env_file=None, **values)


def count_sent(runtime: Runtime, touch: int | None = None) -> int:
    with transaction(runtime.sessions) as session:
        query = sa.select(sa.func.count()).where(Message.direction == "out", Message.sent_at.is_not(None))
        if touch is not None:
            query = query.where(Message.touch == touch)
        return int(session.scalar(query) or 0)


def drain_outbox(runtime: Runtime) -> None:
    """Send whatever a run left pending (the synchronous path has no tick to sweep it)."""
    while True:
        with transaction(runtime.sessions) as session:
            waiting = session.scalar(
                sa.select(sa.func.count()).where(Outbox.status == "pending", Outbox.available_at <= runtime.clock.now())
            )
        if not waiting:
            return
        runtime.deliverer.deliver(limit=1000)


# ------------------------------------------------------------------------------------------------
# 1a. run_due on a virtual clock, the whole sequence
# ------------------------------------------------------------------------------------------------


def bench_run_due(leads: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="nudge-bench-") as tmp:
        clock = VirtualClock(DEFAULT_START)
        with open_runtime(settings_for(Path(tmp)), clock=clock, seed=1) as runtime:
            business_id = create_sample_businesses(runtime)[0]  # with the sample case studies for touch 4
            create_due_leads(runtime, business_id, leads)
            end = DEFAULT_START + timedelta(days=70)
            busy, runs, steps = 0.0, 0, 0
            per_touch: dict[int, float] = {}
            while True:
                with transaction(runtime.sessions) as session:
                    moment = session.scalar(
                        sa.select(sa.func.min(LeadEvent.available_at)).where(LeadEvent.processed_at.is_(None))
                    )
                if moment is None or moment > end:
                    break
                clock.set(moment)
                before = count_sent(runtime)
                started = time.perf_counter()
                runs += runtime.dispatcher.run_due()
                drain_outbox(runtime)
                spent = time.perf_counter() - started
                busy += spent
                steps += 1
                sent_now = count_sent(runtime) - before
                if sent_now:
                    with transaction(runtime.sessions) as session:
                        touch = session.scalar(sa.select(sa.func.max(Message.touch)).where(Message.direction == "out"))
                    per_touch[int(touch or 0)] = per_touch.get(int(touch or 0), 0.0) + spent
                    say(
                        f"  run_due at {clock.now():%Y-%m-%d %H:%M}: {sent_now} touches in {spent:.2f}s "
                        f"({sent_now / spent:.0f}/s)"
                    )
            sent = count_sent(runtime)
            with transaction(runtime.sessions) as session:
                by_touch = dict(
                    session.execute(
                        sa.select(Message.touch, sa.func.count())
                        .where(Message.direction == "out", Message.sent_at.is_not(None))
                        .group_by(Message.touch)
                    ).all()
                )
    return {
        "leads": leads,
        "graph_runs": runs,
        "touches_sent": sent,
        "touches_by_number": {str(k): v for k, v in sorted(by_touch.items(), key=lambda kv: kv[0] or 0)},
        "busy_seconds": round(busy, 3),
        "touches_per_second": round(sent / busy, 1) if busy else None,
        "runs_per_second": round(runs / busy, 1) if busy else None,
        "clock_steps": steps,
    }


class FloorState(TypedDict):
    touches: int


def _touch(state: FloorState) -> FloorState:
    return {"touches": state["touches"] + 1}


def bench_floor(leads: int) -> dict[str, Any]:
    """The same number of runs as 1a, each a bare LangGraph invoke (one trivial node) on the same
    checkpointer kind, thread per lead, durability="exit", 7 runs per thread in touch order: what
    LangGraph and its checkpointer alone cost a touch."""
    with (
        tempfile.TemporaryDirectory(prefix="nudge-bench-") as tmp,
        open_checkpointer(f"sqlite:///{Path(tmp) / 'floor.db'}") as checkpointer,
    ):
        builder = StateGraph(FloorState)
        builder.add_node("touch", _touch)
        builder.add_edge(START, "touch")
        builder.add_edge("touch", END)
        graph = builder.compile(checkpointer=checkpointer)
        started = time.perf_counter()
        for _ in range(7):
            for lead in range(leads):
                config: RunnableConfig = {"configurable": {"thread_id": f"floor-{lead}"}}
                graph.invoke({"touches": 0}, config, durability="exit")
        spent = time.perf_counter() - started
    runs = 7 * leads
    return {"runs": runs, "busy_seconds": round(spent, 3), "runs_per_second": round(runs / spent, 1)}


# ------------------------------------------------------------------------------------------------
# 1b. threaded dispatcher with the real tick
# ------------------------------------------------------------------------------------------------


def wait_for(condition: Any, timeout: float, poll: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    return bool(condition())


def bench_threaded(leads: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="nudge-bench-") as tmp:
        settings = settings_for(Path(tmp))
        with open_runtime(settings) as runtime:
            business_id = create_sample_business(runtime)
            create_due_leads(runtime, business_id, leads)
            skipped = SKIPPED_TICKS.count
            started = time.perf_counter()
            with running_workers(runtime.dispatcher, settings.tick_seconds):
                done = wait_for(lambda: count_sent(runtime, 1) >= leads, timeout=max(60.0, leads / 20))
                elapsed = time.perf_counter() - started
            sent = count_sent(runtime, 1)
            skipped = SKIPPED_TICKS.count - skipped
    say(
        f"  threaded: {sent}/{leads} touches in {elapsed:.2f}s ({sent / elapsed:.0f}/s); "
        f"{skipped} ticks skipped while the previous one still ran"
    )
    return {
        "leads": leads,
        "touches_sent": sent,
        "complete": done,
        "seconds": round(elapsed, 3),
        "touches_per_second": round(sent / elapsed, 1),
        "dispatcher_threads": settings.dispatcher_threads,
        "tick_seconds": settings.tick_seconds,
        "ticks_skipped": skipped,
    }


# ------------------------------------------------------------------------------------------------
# 2. timer lateness
# ------------------------------------------------------------------------------------------------


def bench_lateness(timers: int, spread_seconds: float = 8.0, lead_seconds: float = 3.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="nudge-bench-") as tmp:
        settings = settings_for(Path(tmp))
        with open_runtime(settings) as runtime:
            business_id = create_sample_business(runtime)
            create_due_leads(runtime, business_id, timers)
            runtime.dispatcher.run_due()  # touch 1 for everyone; touch 2 timers now pending (+3 min)
            drain_outbox(runtime)
            with running_workers(runtime.dispatcher, settings.tick_seconds):
                time.sleep(1.5)  # the scheduler is up and has ticked
                base = datetime.now(UTC) + timedelta(seconds=lead_seconds)
                with transaction(runtime.sessions) as session:
                    rows = list(
                        session.execute(
                            sa.select(LeadEvent.id)
                            .where(LeadEvent.kind == "touch_due", LeadEvent.processed_at.is_(None))
                            .order_by(LeadEvent.lead_id)
                        ).scalars()
                    )
                    for index, event_id in enumerate(rows):
                        due = base + timedelta(seconds=spread_seconds * index / max(1, len(rows)))
                        session.execute(sa.update(LeadEvent).where(LeadEvent.id == event_id).values(available_at=due))
                say(f"  {len(rows)} timers due between +{lead_seconds:.0f}s and +{lead_seconds + spread_seconds:.0f}s")
                wait_for(lambda: count_sent(runtime, 2) >= len(rows), timeout=lead_seconds + spread_seconds + 30)
            with transaction(runtime.sessions) as session:
                pairs = session.execute(
                    sa.select(LeadEvent.lead_id, LeadEvent.available_at).where(
                        LeadEvent.kind == "touch_due", LeadEvent.id.in_(rows)
                    )
                ).all()
                due_by_lead = {lead_id: at for lead_id, at in pairs}
                sent = session.execute(
                    sa.select(Message.lead_id, Message.sent_at).where(Message.touch == 2, Message.sent_at.is_not(None))
                ).all()
    lateness = [
        (sent_at - due_by_lead[lead_id]).total_seconds()
        for lead_id, sent_at in sent
        if lead_id in due_by_lead and sent_at is not None and due_by_lead[lead_id] is not None
    ]
    result = {
        "timers": len(rows),
        "sent": len(lateness),
        "tick_seconds": settings.tick_seconds,
        "p50_s": round(percentile(lateness, 50), 3),
        "p99_s": round(percentile(lateness, 99), 3),
        "max_s": round(max(lateness), 3) if lateness else None,
        "min_s": round(min(lateness), 3) if lateness else None,
        "mean_s": round(statistics.fmean(lateness), 3) if lateness else None,
    }
    say(
        f"  lateness p50 {result['p50_s']}s, p99 {result['p99_s']}s, max {result['max_s']}s "
        f"({result['sent']}/{result['timers']} timers fired)"
    )
    return result


# ------------------------------------------------------------------------------------------------
# 3. RSS with pending timers
# ------------------------------------------------------------------------------------------------


def build_pending_world(workdir: Path, leads: int) -> None:
    """`leads` leads with a touch timer due tomorrow (bulk insert), plus WARM_LEADS due now."""
    settings = settings_for(workdir)
    with open_runtime(settings) as runtime:
        business_id = create_sample_business(runtime)
        now = runtime.clock.now()
        batch = 5000
        for start in range(0, leads, batch):
            lead_rows, event_rows = [], []
            for index in range(start, min(leads, start + batch)):
                lead_id = new_id("lead")
                due = now + timedelta(days=1, seconds=index % 86400)
                lead_rows.append(
                    {
                        "id": lead_id,
                        "business_id": business_id,
                        "name": f"Bulk {index}",
                        "phone": f"+1415{index:08d}",
                        "email": f"bulk{index}@example.com",
                        "source": "web_form",
                        "timezone": "America/Los_Angeles",
                        "locale": "en",
                        "consent": {"whatsapp": True},
                        "stage": "contacted",
                        "score": 0,
                        "first_message": "Hi",
                        "first_channel": "form",
                        "extra": {},
                        "last_touch": 2,
                        "next_touch": 3,
                        "next_channel": "email",
                        "next_due_at": due,
                        "last_contact_at": now,
                        "graph_paused": False,
                        "fence": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                event_rows.append(
                    {
                        "id": new_id("evt"),
                        "business_id": business_id,
                        "lead_id": lead_id,
                        "kind": "touch_due",
                        "dedupe_key": f"touch_due:{lead_id}:3:{due.isoformat()}",
                        "payload": {"touch": 3},
                        "available_at": due,
                        "created_at": now,
                    }
                )
            with transaction(runtime.sessions) as session:
                session.execute(sa.insert(Lead), lead_rows)
                session.execute(sa.insert(LeadEvent), event_rows)
        create_due_leads(runtime, business_id, WARM_LEADS)


def rss_kib() -> dict[str, int]:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def child(mode: str, workdir: Path) -> dict[str, Any]:
    """Runs in a fresh process; prints one JSON line."""
    settings = settings_for(workdir)
    with open_runtime(settings) as runtime, running_workers(runtime.dispatcher, settings.tick_seconds):
        warmed = wait_for(lambda: _warm_done(runtime), timeout=120, poll=0.2)
        time.sleep(max(3.0, 3 * settings.tick_seconds))  # a few ticks over the pending set
        started = time.perf_counter()
        runtime.dispatcher.tick()
        tick_seconds = time.perf_counter() - started
        extra: dict[str, Any] = {}
        if mode == "naive":
            from apscheduler.jobstores.memory import MemoryJobStore
            from apscheduler.schedulers.background import BackgroundScheduler

            scheduler = BackgroundScheduler(jobstores={"default": MemoryJobStore()}, timezone=UTC)
            scheduler.start()
            with transaction(runtime.sessions) as session:
                timers = session.execute(
                    sa.select(LeadEvent.lead_id, LeadEvent.available_at).where(
                        LeadEvent.processed_at.is_(None), LeadEvent.available_at > runtime.clock.now()
                    )
                ).all()
            for lead_id, due in timers:
                scheduler.add_job(_fire, "date", run_date=due, args=[lead_id], id=lead_id, replace_existing=True)
            extra["jobs"] = len(scheduler.get_jobs())
            time.sleep(1.0)
        gc.collect()
        rss = rss_kib()
        with transaction(runtime.sessions) as session:
            pending = session.scalar(sa.select(sa.func.count()).where(LeadEvent.processed_at.is_(None)))
        if mode == "naive":
            scheduler.shutdown(wait=False)
    return {
        "rss_kib": rss["VmRSS"],
        "hwm_kib": rss["VmHWM"],
        "warm": warmed,
        "pending_events": pending,
        "tick_seconds": round(tick_seconds, 4),
        **extra,
    }


def _fire(lead_id: str) -> None:  # the naive scheduler's job: would wake the lead
    return None


# The bare baseline runs in an interpreter that imports APScheduler and nothing of Nudge.
BARE_APSCHEDULER = """
import gc, json, sys, time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

def rss():
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(rest.split()[0])
    return found

def fire(lead_id):
    return None

jobs = int(sys.argv[1])
before = rss()
scheduler = BackgroundScheduler(jobstores={"default": MemoryJobStore()}, timezone=UTC)
scheduler.start()
tomorrow = datetime.now(UTC) + timedelta(days=1)
for index in range(jobs):
    lead_id = f"lead_{index:026d}"
    scheduler.add_job(fire, "date", run_date=tomorrow + timedelta(seconds=index % 86400), args=[lead_id], id=lead_id)
time.sleep(1.0)
gc.collect()
after = rss()
scheduler.shutdown(wait=False)
print(json.dumps({"rss_kib": after["VmRSS"], "hwm_kib": after["VmHWM"], "rss_before_jobs_kib": before["VmRSS"],
                  "jobs": jobs}))
"""


def _warm_done(runtime: Runtime) -> bool:
    with transaction(runtime.sessions) as session:
        created = session.scalar(
            sa.select(sa.func.count()).where(LeadEvent.kind == "lead_created", LeadEvent.processed_at.is_(None))
        )
        waiting = session.scalar(sa.select(sa.func.count()).where(Outbox.status.in_(("pending", "sending"))))
    return created == 0 and waiting == 0


def run_child(mode: str, workdir: Path, jobs: int = 0) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--workdir", str(workdir)]
    if mode == "bare":
        command = [sys.executable, "-c", BARE_APSCHEDULER, str(jobs)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUDGE_")}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bench_rss(sizes: Sequence[int]) -> dict[str, Any]:
    results: dict[str, Any] = {"nudge": {}, "naive_worker": {}, "bare_apscheduler": {}}
    with tempfile.TemporaryDirectory(prefix="nudge-bench-rss-") as tmp:
        for size in sizes:
            workdir = Path(tmp) / f"n{size}"
            workdir.mkdir()
            started = time.perf_counter()
            build_pending_world(workdir, size)
            say(f"  built {size} leads with pending timers in {time.perf_counter() - started:.1f}s")
            # Each measurement gets a fresh copy of the database so none sees another's writes.
            for mode, key in (("nudge", "nudge"), ("naive", "naive_worker")):
                copy = Path(tmp) / f"n{size}-{mode}"
                shutil.copytree(workdir, copy)
                results[key][str(size)] = run_child(mode, copy)
                say(f"  {key} @ {size}: RSS {results[key][str(size)]['rss_kib'] / 1024:.1f} MiB")
            results["bare_apscheduler"][str(size)] = run_child("bare", workdir, jobs=size)
            say(f"  bare_apscheduler @ {size}: RSS {results['bare_apscheduler'][str(size)]['rss_kib'] / 1024:.1f} MiB")
    small, large = (str(s) for s in sizes)
    for key in ("nudge", "naive_worker", "bare_apscheduler"):
        results[key]["ratio_large_to_small"] = round(results[key][large]["rss_kib"] / results[key][small]["rss_kib"], 3)
        results[key]["bytes_per_extra_lead"] = round(
            (results[key][large]["rss_kib"] - results[key][small]["rss_kib"]) * 1024 / (int(large) - int(small)), 1
        )
    results["naive_worker_over_nudge_at_large"] = round(
        results["naive_worker"][large]["rss_kib"] / results["nudge"][large]["rss_kib"], 3
    )
    return results


# ------------------------------------------------------------------------------------------------
# 4. checkpoint bytes per lead
# ------------------------------------------------------------------------------------------------


def checkpoint_bytes(path: str) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    try:
        per_thread: dict[str, dict[str, int]] = {}
        for thread, rows, size in conn.execute(
            "SELECT thread_id, count(*), sum(length(checkpoint) + length(metadata)) FROM checkpoints GROUP BY thread_id"
        ):
            per_thread[thread] = {"rows": rows, "bytes": size, "writes": 0}
        for thread, rows, size in conn.execute(
            "SELECT thread_id, count(*), sum(length(value)) FROM writes GROUP BY thread_id"
        ):
            per_thread.setdefault(thread, {"rows": 0, "bytes": 0, "writes": 0})
            per_thread[thread]["bytes"] += size or 0
            per_thread[thread]["writes"] = rows
    finally:
        conn.close()
    sizes = [t["bytes"] for t in per_thread.values()]
    return {
        "threads": len(per_thread),
        "mean_bytes": round(statistics.fmean(sizes), 1) if sizes else None,
        "max_bytes": max(sizes) if sizes else None,
        "max_checkpoint_rows": max((t["rows"] for t in per_thread.values()), default=0),
        "max_write_rows": max((t["writes"] for t in per_thread.values()), default=0),
    }


def bench_checkpoints(leads: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="nudge-bench-ckpt-") as tmp,
        simulation_runtime(Path(tmp), seed=7) as (runtime, clock),
    ):
        business_id = create_sample_businesses(runtime)[0]
        sim = Simulation(runtime, clock, random.Random(7))
        for _ in range(leads):
            persona = Persona(
                "silent",
                "en",
                "form",
                "Hi, I'd like to know the price for your service",
                phone_prefix="+1212",
                timezone="America/New_York",
            )
            sim.add_lead(persona, business_id, DEFAULT_START)
        path = checkpoint_path_for(runtime.settings.resolved_database_url)
        assert path is not None
        sim.run_until(DEFAULT_START + timedelta(minutes=1))
        first = checkpoint_bytes(path)
        sim.run_until(DEFAULT_START + timedelta(days=70))
        full = checkpoint_bytes(path)
        with transaction(runtime.sessions) as session:
            stages = dict(session.execute(sa.select(Lead.stage, sa.func.count()).group_by(Lead.stage)).all())
            touches = session.scalar(sa.select(sa.func.count()).where(Message.direction == "out"))
        files = {p.name: p.stat().st_size for p in Path(tmp).glob("*checkpoints*")}
        conn = sqlite3.connect(path)
        try:
            pages = {
                name: conn.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("page_size", "page_count", "freelist_count")
            }
        finally:
            conn.close()
    say(
        f"  checkpoint bytes per lead: {first['mean_bytes']} after touch 1, {full['mean_bytes']} after the sequence "
        f"(max {full['max_bytes']}, {full['max_checkpoint_rows']} checkpoint row(s) per thread)"
    )
    return {
        "leads": leads,
        "after_first_run": first,
        "after_full_sequence": full,
        "stages": stages,
        "outbound_messages": touches,
        "checkpoint_files_bytes": files,
        "checkpoint_db_pages": pages,
    }


# ------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--sync-leads", type=int, default=300)
    parser.add_argument("--threaded-leads", type=int, default=1000)
    parser.add_argument("--timers", type=int, default=300)
    parser.add_argument("--rss-sizes", type=int, nargs=2, default=[1000, 100_000])
    parser.add_argument("--checkpoint-leads", type=int, default=50)
    parser.add_argument("--child", choices=["nudge", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.workdir)), flush=True)
        return 0
    if args.quick:
        args.sync_leads, args.threaded_leads, args.timers = 40, 200, 60
        args.rss_sizes, args.checkpoint_leads = [500, 5000], 10

    started = time.perf_counter()
    results: dict[str, Any] = {"database": "sqlite", "channels": "sandbox", "composer": "template"}
    say(f"1a. run_due on a virtual clock: {args.sync_leads} leads through the 7-touch sequence")
    results["throughput_run_due"] = bench_run_due(args.sync_leads)
    say(f"1c. floor: {7 * args.sync_leads} bare LangGraph invokes, same checkpointer, thread per lead")
    results["floor"] = bench_floor(args.sync_leads)
    results["floor"]["ratio_run_due_to_floor"] = round(
        (results["throughput_run_due"]["touches_per_second"] or 0) / results["floor"]["runs_per_second"], 3
    )
    say(f"1b. threaded dispatcher + APScheduler tick: {args.threaded_leads} leads with touch 1 due now")
    results["throughput_threaded"] = bench_threaded(args.threaded_leads)
    say(f"2.  timer lateness: {args.timers} timers, threaded dispatcher, system clock")
    results["lateness"] = bench_lateness(args.timers)
    say(f"3.  RSS with {args.rss_sizes[0]} and {args.rss_sizes[1]} leads holding pending timers")
    results["rss"] = bench_rss(args.rss_sizes)
    say(f"4.  checkpoint bytes per lead: {args.checkpoint_leads} silent leads for 70 days (simulator)")
    results["checkpoints"] = bench_checkpoints(args.checkpoint_leads)

    small, large = (str(s) for s in args.rss_sizes)
    rss = results["rss"]
    results["targets"] = {
        "touches_per_second_run_due": [
            results["throughput_run_due"]["touches_per_second"],
            f">= {TARGET_TOUCHES_PER_S}",
        ],
        "touches_per_second_threaded": [
            results["throughput_threaded"]["touches_per_second"],
            f">= {TARGET_TOUCHES_PER_S}",
        ],
        "lateness_p99_s": [results["lateness"]["p99_s"], f"< {TARGET_LATENESS_P99_S}"],
        "rss_ratio_nudge": [rss["nudge"]["ratio_large_to_small"], f"< {TARGET_RSS_RATIO}"],
    }
    results["targets_met"] = {
        "touches_per_second_run_due": (results["throughput_run_due"]["touches_per_second"] or 0)
        >= TARGET_TOUCHES_PER_S,
        "touches_per_second_threaded": results["throughput_threaded"]["touches_per_second"] >= TARGET_TOUCHES_PER_S,
        "lateness_p99_s": results["lateness"]["p99_s"] < TARGET_LATENESS_P99_S,
        "rss_ratio_nudge": rss["nudge"]["ratio_large_to_small"] < TARGET_RSS_RATIO,
    }
    results["seconds"] = round(time.perf_counter() - started, 1)

    mib = 1024.0
    say("")
    say("Summary")
    say(
        f"  touches/s, run_due (7-touch sequence)   {results['throughput_run_due']['touches_per_second']:>8}"
        f"   target >= {TARGET_TOUCHES_PER_S:.0f}"
    )
    say(
        f"  touches/s, threaded + tick (touch 1)    {results['throughput_threaded']['touches_per_second']:>8}"
        f"   target >= {TARGET_TOUCHES_PER_S:.0f}"
    )
    say(
        f"  floor: bare LangGraph invokes/s         {results['floor']['runs_per_second']:>8}"
        f"   run_due reaches {results['floor']['ratio_run_due_to_floor']:.0%} of it"
    )
    say(
        f"  timer lateness p50 / p99 (s)            {results['lateness']['p50_s']:>8} / {results['lateness']['p99_s']}"
        f"   target p99 < {TARGET_LATENESS_P99_S}"
    )
    for key, label in (
        ("nudge", "Nudge worker"),
        ("naive_worker", "naive: job per lead (worker)"),
        ("bare_apscheduler", "naive: bare APScheduler"),
    ):
        row = rss[key]
        say(
            f"  RSS {label:<30} {row[small]['rss_kib'] / mib:7.1f} MiB @ {small}  "
            f"{row[large]['rss_kib'] / mib:7.1f} MiB @ {large}  ratio {row['ratio_large_to_small']}  "
            f"(+{row['bytes_per_extra_lead']} B/lead)"
        )
    say(
        f"  naive worker / Nudge worker RSS @ {large}: {rss['naive_worker_over_nudge_at_large']}   "
        f"target Nudge ratio < {TARGET_RSS_RATIO}"
    )
    ck = results["checkpoints"]
    say(
        f"  checkpoint bytes per lead after 7 touches {ck['after_full_sequence']['mean_bytes']} "
        f"(after touch 1: {ck['after_first_run']['mean_bytes']}; max rows per thread "
        f"{ck['after_full_sequence']['max_checkpoint_rows']})"
    )
    say(f"  targets met: {results['targets_met']}")
    say(f"  total {results['seconds']}s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
        say(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
