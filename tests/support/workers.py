"""Helpers for tests and benchmarks that drive real worker processes against one database.

Leads are created through Nudge's own intake (`scheduler.inputs.receive_lead`), so each has a
`lead_created` event due now in its mailbox; workers are `nudge worker` or
`tests.support.worker_proc` subprocesses; evidence is read back from the database, the stand-in
provider's ledger and the workers' run logs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from agent.intake import NewLead
from nudge.db import transaction
from nudge.models import Business, Lead, LeadEvent, Message, Outbox
from nudge.runtime import Runtime
from nudge.sim.sample import SAMPLE_BUSINESSES
from nudge.tenants import create_business
from scheduler.inputs import receive_lead
from tests.support.worker_proc import READY, read_json_lines

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
NUDGE = ROOT / ".venv" / "bin" / "nudge"


def create_sample_business(runtime: Runtime) -> str:
    """The sample business (sandbox numbers, approved WhatsApp templates, resources, offer)."""
    spec = dict(SAMPLE_BUSINESSES[0])
    name = spec.pop("name")
    with transaction(runtime.sessions) as session:
        return create_business(session, name=name, now=runtime.clock.now(), fields=spec).business.id


def create_due_leads(
    runtime: Runtime, business_id: str, count: int, *, now: datetime | None = None, batch: int = 500
) -> list[str]:
    """`count` web-form leads, each with its `lead_created` event (touch 1) due at `now`."""
    moment = now or runtime.clock.now()
    ids: list[str] = []
    for start in range(0, count, batch):
        with transaction(runtime.sessions) as session:
            business = session.get(Business, business_id)
            assert business is not None
            for index in range(start, min(count, start + batch)):
                lead, created = receive_lead(
                    session,
                    business,
                    NewLead(
                        name=f"Lead {index}",
                        phone=f"+1212{index:07d}",
                        email=f"lead{index}@example.com",
                        source="web_form",
                        message="Hi, I'd like to know the price for your service",
                        timezone="America/New_York",
                        locale="en",
                        consent={"whatsapp": True, "sms": True, "email": True},
                    ),
                    moment,
                )
                assert created
                ids.append(lead.id)
    return ids


@dataclass
class WorkerProcess:
    name: str
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    files: tuple[IO[bytes], IO[bytes]]

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(errors="replace")

    def ready(self) -> bool:
        return READY in self.stdout_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.process.poll() is not None:
                raise AssertionError(f"worker {self.name} exited with {self.process.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"worker {self.name} not ready after {timeout}s:\n{self.output()}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL, then reap."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.close_files()

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM (graceful: the worker finishes its runs), then reap; SIGKILL if it hangs."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            code = self.process.wait(10)
        self.close_files()
        return code

    def close_files(self) -> None:
        for handle in self.files:
            if not handle.closed:
                handle.close()


def worker_env(database_url: str, data_dir: Path, **extra: str | float | int | Path) -> dict[str, str]:
    """The environment of a worker process: Nudge settings only from here (no .env surprises)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("NUDGE_", "TWILIO_", "OPENAI_"))}
    env.update(
        NUDGE_DATABASE_URL=database_url,
        NUDGE_DATA_DIR=str(data_dir),
        NUDGE_CHANNELS="sandbox",
        NUDGE_PUBLIC_URL="http://nudge.test",
        NUDGE_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    env.update({key: str(value) for key, value in extra.items()})
    return env


def spawn_worker(name: str, env: Mapping[str, str], log_dir: Path, *, cli: bool = False) -> WorkerProcess:
    """Start `nudge worker` (cli=True) or the instrumented `tests.support.worker_proc`."""
    command = [str(NUDGE), "worker"] if cli else [str(PYTHON), "-m", "tests.support.worker_proc"]
    stdout_path, stderr_path = log_dir / f"{name}.out", log_dir / f"{name}.err"
    out, err = stdout_path.open("wb"), stderr_path.open("wb")
    process = subprocess.Popen(command, cwd=ROOT, env=dict(env), stdout=out, stderr=err, start_new_session=True)
    return WorkerProcess(name, process, stdout_path, stderr_path, (out, err))


def wait_until(
    condition: Callable[[], bool], timeout: float, *, what: str, workers: Sequence[WorkerProcess] = ()
) -> float:
    """Poll until `condition()`; fails with the workers' output. Returns the seconds waited."""
    started = time.monotonic()
    while not condition():
        for worker in workers:
            if worker.process.poll() is not None:
                raise AssertionError(f"worker {worker.name} died ({worker.process.returncode}):\n{worker.output()}")
        if time.monotonic() - started > timeout:
            logs = "\n".join(f"--- {w.name}\n{w.output()[-3000:]}" for w in workers)
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs}")
        time.sleep(0.25)
    return time.monotonic() - started


# -- reading the evidence back -----------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    leads: int
    created_pending: int  # lead_created events not processed yet
    outbox: dict[str, int]  # status -> rows
    sent_touch1: int  # leads whose touch-1 message reached the provider (by Nudge's record)

    @property
    def quiet(self) -> bool:
        """Nothing left to do now: every lead_created event handled, no send pending or in flight."""
        return self.created_pending == 0 and not self.outbox.get("pending") and not self.outbox.get("sending")

    @property
    def done(self) -> bool:
        return self.quiet and self.sent_touch1 == self.leads


def progress(engine: sa.Engine) -> Progress:
    with engine.connect() as conn:
        leads = conn.scalar(sa.select(sa.func.count()).select_from(Lead.__table__)) or 0
        created = conn.scalar(
            sa.select(sa.func.count())
            .select_from(LeadEvent.__table__)
            .where(LeadEvent.kind == "lead_created", LeadEvent.processed_at.is_(None))
        )
        rows = conn.execute(sa.select(Outbox.status, sa.func.count()).group_by(Outbox.status))
        outbox = {str(status): int(count) for status, count in rows}
        sent = conn.scalar(
            sa.select(sa.func.count(sa.distinct(Message.lead_id))).where(
                Message.direction == "out", Message.touch == 1, Message.sent_at.is_not(None)
            )
        )
    return Progress(int(leads), int(created or 0), outbox, int(sent or 0))


def outbound_by_lead_touch(engine: sa.Engine) -> dict[tuple[str, int | None], list[str]]:
    """(lead, touch) -> outbound message ids (Nudge's transcript)."""
    found: dict[tuple[str, int | None], list[str]] = defaultdict(list)
    with engine.connect() as conn:
        for message_id, lead_id, touch in conn.execute(
            sa.select(Message.id, Message.lead_id, Message.touch).where(Message.direction == "out")
        ):
            found[(str(lead_id), touch)].append(str(message_id))
    return found


def ledger_by_lead_touch(engine: sa.Engine, ledgers: Iterable[Path]) -> dict[tuple[str, int | None], list[str]]:
    """(lead, touch) -> provider ids the stand-in provider accepted (the outside world's record)."""
    with engine.connect() as conn:
        owner = {
            str(m): (str(lead), touch)
            for m, lead, touch in conn.execute(
                sa.select(Message.id, Message.lead_id, Message.touch).where(Message.direction == "out")
            )
        }
    found: dict[tuple[str, int | None], list[str]] = defaultdict(list)
    for path in ledgers:
        for record in read_json_lines(path):
            key = owner.get(record["message_id"])
            assert key is not None, f"the provider got message {record['message_id']}, which Nudge has no row for"
            found[key].append(str(record["provider_id"]))
    return found


def describe_leads(engine: sa.Engine, lead_ids: Iterable[str]) -> str:
    """A lead's row, mailbox, outbox and activity, for failure messages."""
    from nudge.models import LeadActivity

    lines = []
    with engine.connect() as conn:
        for lead_id in lead_ids:
            lead = conn.execute(
                sa.select(Lead.stage, Lead.last_touch, Lead.next_touch, Lead.checkpoint_id, Lead.fence,
                          Lead.lease_owner, Lead.lease_until).where(Lead.id == lead_id)
            ).one()
            lines.append(f"{lead_id}: {lead._asdict()}")
            for event in conn.execute(
                sa.select(LeadEvent.kind, LeadEvent.payload, LeadEvent.available_at, LeadEvent.processed_at,
                          LeadEvent.outcome).where(LeadEvent.lead_id == lead_id).order_by(LeadEvent.created_at)
            ):
                lines.append(f"    event {event._asdict()}")
            for row in conn.execute(
                sa.select(Outbox.status, Outbox.attempts, Outbox.last_error).where(Outbox.lead_id == lead_id)
            ):
                lines.append(f"    outbox {row._asdict()}")
            for act in conn.execute(
                sa.select(LeadActivity.at, LeadActivity.kind, LeadActivity.touch, LeadActivity.detail)
                .where(LeadActivity.lead_id == lead_id).order_by(LeadActivity.at)
            ):
                lines.append(f"    activity {act._asdict()}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Run:
    lead: str
    pid: int
    start: int  # time.time_ns()
    end: int | None  # None: the process died during the run
    ok: bool


def runs_from_logs(paths: Iterable[Path], died_at: Mapping[int, int] | None = None) -> list[Run]:
    """Pair the start/end lines of every graph run; a run without an end lasted until its process
    was killed (`died_at`: pid -> time.time_ns() just after the kill)."""
    started: dict[str, dict[str, Any]] = {}
    ended: dict[str, dict[str, Any]] = {}
    for path in paths:
        for record in read_json_lines(path):
            (started if record["event"] == "start" else ended)[record["run"]] = record
    runs = []
    for run_id, start in started.items():
        end = ended.get(run_id)
        stop = end["t"] if end else (died_at or {}).get(start["pid"])
        runs.append(Run(start["lead"], start["pid"], start["t"], stop, bool(end and end["ok"])))
    return runs


def overlapping_runs(runs: Iterable[Run]) -> list[tuple[Run, Run]]:
    """Pairs of runs of the same lead whose intervals intersect (an unfinished run never ends)."""
    by_lead: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        by_lead[run.lead].append(run)
    clashes = []
    for lead_runs in by_lead.values():
        lead_runs.sort(key=lambda r: r.start)
        holder: Run | None = None  # the run reaching furthest so far (end None: never ends)
        for run in lead_runs:
            if holder is not None and (holder.end is None or holder.end > run.start):
                clashes.append((holder, run))
            if holder is None or (holder.end is not None and (run.end is None or run.end > holder.end)):
                holder = run
    return clashes
