"""Runs leads: claims a lead's lease, drains its mailbox into one graph run, delivers the outbox.

Threaded in production (`start()`; `wake()` from webhooks so inbound never waits for the tick)
and synchronous in the simulator (`run_due()` on a virtual clock). Either way the same
`process_batch()` does the work.

Due follow-ups run in batches: one transaction holds the runs of up to `batch` leads, so a morning
of due touches pays for one commit, one writer-gate hand-over and one checkpoint prune per batch
instead of per lead; when a run fails, the others of its batch run again alone (`_run_batch`), so
a lead whose run fails never holds the others back.
A lead woken by something it did (a message, a click) goes first and alone: its answer leaves
right after its own run instead of waiting for a batch. In threaded mode the next leads are taken
from the queues only once the thread holds the database.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from collections.abc import Sequence as Seq
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from agent import stages
from agent.channels import OutboundMessage
from agent.composer import Composer
from agent.links import TokenSource, new_token
from agent.llm import Qualifier, offline_qualifier
from agent.outbound import forget_queued
from agent.sequence import Sequence, default_sequence
from graph.builder import LeadGraph
from graph.checkpointer import LeadCheckpointer
from graph.context import KnowledgePort, RunContext
from graph.state import InboxItem, LeadState
from graph.timeutil import from_iso
from nudge.clock import Clock
from nudge.db import transaction
from nudge.ids import IdSource, new_id
from nudge.metrics import Metrics
from nudge.models import Business, Lead
from scheduler import mailbox
from scheduler.delivery import Deliverer, DeliveryReport
from scheduler.notifications import Notifier

log = logging.getLogger(__name__)

MAX_RUNS_PER_CLAIM = 5  # events arriving during a run are drained by the next one, up to this
INTERRUPT_KEY = "__interrupt__"  # in a run's output when it stopped at interrupt()


class _RunFailed(Exception):
    """The run of this lead raised (the original error is the cause): its batch rolls back."""

    def __init__(self, lead_id: str) -> None:
        super().__init__(lead_id)
        self.lead_id = lead_id


@dataclass(frozen=True)
class RunOutcome:
    claimed: list[tuple[str, OutboundMessage]]  # outbox rows marked `sending` by the run's commit
    more: bool  # events arrived during the run
    notify: bool = False  # the run queued rep notifications


@dataclass(frozen=True)
class LeadRunner:
    """Everything a graph run needs that is not in the database."""

    graph: LeadGraph
    checkpointer: LeadCheckpointer
    composer: Composer
    public_url: str
    knowledge: KnowledgePort | None = None
    qualifier: Qualifier = offline_qualifier
    first_touch_promise: float = 60.0
    link_token: TokenSource = new_token  # seeded in a simulation
    ids: IdSource = new_id  # seeded in a simulation


@functools.cache
def _lead_and_business() -> Select[Lead, Business]:
    # Built once, bound per run: constructing it cost more than running it.
    return select(Lead, Business).join(Business, Business.id == Lead.business_id).where(Lead.id == bindparam("lead_id"))


def sequence_for(business: Business) -> Sequence:
    if business.sequence:
        return _parse_sequence(json.dumps(business.sequence, sort_keys=True))
    return default_sequence()


@functools.lru_cache(maxsize=256)
def _parse_sequence(text: str) -> Sequence:
    # Every run needs its business's sequence; validating the same JSON each time is waste.
    return Sequence.model_validate_json(text)


class Dispatcher:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        runner: LeadRunner,
        deliverer: Deliverer,
        clock: Clock,
        lease: timedelta = timedelta(seconds=60),
        threads: int = 4,
        batch: int = 8,
        owner: str | None = None,
        metrics: Metrics | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self._factory = session_factory
        self._runner = runner
        self._deliverer = deliverer
        self._clock = clock
        self._lease = lease
        self._threads = threads
        self._batch = max(1, batch)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{new_id('w')[-6:]}"
        self._executor: ThreadPoolExecutor | None = None
        self._in_flight: set[str] = set()  # queued or running; a lead is never in two batches
        self._again: set[str] = set()  # woken again while running: queued once its batch is done
        self._urgent: deque[str] = deque()  # woken by the lead (or a rep): one at a time, first
        self._due: deque[str] = deque()  # found due by the tick: in batches
        self._draining = 0  # pool threads working through the queue
        self._reruns: dict[str, int] = {}  # runs in a row that found more events waiting
        self._backlog = False  # the last pull of due leads was a full page
        self._lock = threading.Lock()
        self._metrics = metrics
        self._notifier = notifier

    # -- threaded mode ---------------------------------------------------------------------
    def start(self) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="nudge-lead")

    def stop(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def wake(self, lead_id: str) -> None:
        """Run this lead now (an inbound message, a rep action): no waiting for the tick."""
        self._enqueue(lead_id, urgent=True)

    def _enqueue(self, lead_id: str, *, urgent: bool) -> bool:
        """Queue the lead; False when it was queued or running already."""
        if self._executor is None:
            return False
        with self._lock:
            if lead_id in self._in_flight:
                self._again.add(lead_id)  # picked up again when the current run finishes
                return False
            self._in_flight.add(lead_id)
            (self._urgent if urgent else self._due).append(lead_id)
            if self._draining >= self._threads:
                return True  # a draining thread will take it
            self._draining += 1
        self._executor.submit(self._drain)
        return True

    def tick(self) -> None:
        """The scheduler job: claim due leads, retry deliveries, recover interrupted sends."""
        try:
            self._pull_due()
            self._deliver()
            self._deliverer.recover_interrupted()
            if self._notifier is not None:
                self._notifier.deliver()
        except Exception:  # the tick must survive a bad moment (database restart, …)
            log.exception("scheduler tick failed")

    def _pull_due(self) -> None:
        """Queue leads with due events. A full page means more are waiting: the queue pulls the
        next page as soon as it drains instead of idling until the next tick."""
        limit = self._threads * 50
        with transaction(self._factory) as session:
            due = mailbox.due_lead_ids(session, self._clock.now(), limit=limit)
        queued = [lead_id for lead_id in due if self._enqueue(lead_id, urgent=False)]
        self._backlog = len(due) == limit and bool(queued)

    def _take_into(self, taken: list[str]) -> list[str]:
        """The next batch: one woken lead, else up to `batch` due ones (also kept in `taken` for
        the caller's bookkeeping)."""
        with self._lock:
            if self._urgent:
                taken.append(self._urgent.popleft())
            else:
                taken.extend(self._due.popleft() for _ in range(min(self._batch, len(self._due))))
        return taken

    def _drain(self) -> None:
        """A pool thread: run batches from the queues until they are empty."""
        while True:
            taken: list[str] = []
            more: set[str] = set()
            try:
                outcomes = self._run_and_deliver(functools.partial(self._take_into, taken))
                more = {lead_id for lead_id, outcome in outcomes.items() if outcome.more}
            except Exception:
                log.exception("a batch of %d leads failed; their events stay in the mailbox", len(taken))
            with self._lock:
                for lead_id in taken:
                    previous = self._reruns.pop(lead_id, 0)
                    reruns = previous + 1 if lead_id in more else 0
                    if lead_id in self._again or 0 < reruns < MAX_RUNS_PER_CLAIM:
                        self._again.discard(lead_id)
                        self._urgent.append(lead_id)  # events arrived during its run
                        if reruns:
                            self._reruns[lead_id] = reruns
                    else:  # done, or it keeps finding work: the tick comes back for the rest
                        self._in_flight.discard(lead_id)
                refill = False
                if not self._urgent and not self._due:
                    refill, self._backlog = self._backlog, False
                    if not refill:
                        self._draining -= 1
                        return
            if refill:
                try:
                    self._pull_due()
                except Exception:  # the tick pulls again
                    log.exception("pulling the next page of due leads failed")

    # -- synchronous mode (simulator, tests, benchmarks) -----------------------------------
    def run_due(self, limit: int = 10_000) -> int:
        """Process every lead with due events now, then deliver. Returns runs made."""
        runs = 0
        while runs < limit:
            with transaction(self._factory) as session:
                due = mailbox.due_lead_ids(session, self._clock.now(), limit=500)
            if not due:
                break
            for start in range(0, len(due), self._batch):
                runs += self.process_batch(due[start : start + self._batch])
        return runs

    # -- the work ---------------------------------------------------------------------------
    def process_batch(self, lead_ids: Seq[str]) -> int:
        """Run each lead over its pending events, all in one transaction, and deliver what the
        runs queued right after the commit; leads whose events arrived meanwhile run again (up to
        the per-wake limit). Returns the runs made."""
        runs, todo = 0, list(lead_ids)
        for _ in range(MAX_RUNS_PER_CLAIM):
            if not todo:
                break
            outcomes = self._run_and_deliver(functools.partial(list, todo))
            runs += len(outcomes)
            todo = [lead_id for lead_id, outcome in outcomes.items() if outcome.more]
        return runs

    def _run_and_deliver(self, take: Callable[[], list[str]]) -> dict[str, RunOutcome]:
        """One batch, then what its runs queued, right after the commit."""
        outcomes = self._run_batch(take)
        notify = False
        for outcome in outcomes.values():
            self._send(outcome.claimed)
            notify = notify or outcome.notify
        if notify and self._notifier is not None:
            self._notifier.deliver()  # a rep hears about a hot lead within seconds
        return outcomes

    def _send(self, claimed: list[tuple[str, OutboundMessage]]) -> None:
        self._wake_all(self._deliverer.send_claimed(claimed))

    def _deliver(self) -> None:
        self._wake_all(self._deliverer.deliver())

    def _wake_all(self, report: DeliveryReport) -> None:
        for woken in report.leads_to_wake:
            self.wake(woken)  # a failed send falls back to the next channel without waiting

    def _run_batch(self, take: Callable[[], list[str]]) -> dict[str, RunOutcome]:
        """One transaction for the batch's runs. `take` names the leads once the transaction holds
        the database (threaded mode takes its batch from the queues then).

        No savepoint per lead: a failed run is rare, and a savepoint pair cost each run about as
        much as planning its next touch. When a run fails, the whole batch rolls back and every
        other lead of it runs again alone, so the failure stays with its lead (whose events stay in
        the mailbox for the next attempt). Their first runs' checkpoints are left behind
        uncommitted, which a run never builds on (`_run_once`)."""
        taken: list[str] = []
        try:
            outcomes = self._run_in_one_transaction(take, taken)
        except Exception as error:
            _log_failure(error, taken)
            failed = error.lead_id if isinstance(error, _RunFailed) else None
            outcomes = {}
            if len(taken) > 1:
                for lead_id in taken:
                    if lead_id != failed:
                        outcomes.update(self._run_alone(lead_id))
        if outcomes:
            self._runner.checkpointer.prune(list(outcomes), strategy="keep_latest")
        return outcomes

    def _run_alone(self, lead_id: str) -> dict[str, RunOutcome]:
        try:
            return self._run_in_one_transaction(functools.partial(list, [lead_id]), [])
        except Exception as error:
            _log_failure(error, [lead_id])
            return {}

    def _run_in_one_transaction(self, take: Callable[[], list[str]], taken: list[str]) -> dict[str, RunOutcome]:
        outcomes: dict[str, RunOutcome] = {}
        with transaction(self._factory) as session:
            taken.extend(take())
            for lead_id in taken:
                try:
                    outcome = self._run_once(session, lead_id)
                except Exception as error:
                    raise _RunFailed(lead_id) from error
                if outcome is not None:
                    outcomes[lead_id] = outcome
        return outcomes

    def _run_once(self, session: Session, lead_id: str) -> RunOutcome | None:
        """One graph run over the lead's pending events, with its lease, the mailbox bookkeeping
        and the claim of the outbox rows it queued (sent after the batch commits)."""
        runner = self._runner
        forget_queued(session)  # the previous lead's rows are claimed or rolled back
        now = self._clock.now()
        fence = mailbox.claim(session, lead_id, self.owner, now, self._lease)
        if fence is None:
            return None
        events = mailbox.pending(session, lead_id, now)
        if not events:  # another worker drained it already
            mailbox.release(session, lead_id, fence)
            return None
        lead, business = session.execute(_lead_and_business(), {"lead_id": lead_id}).one()
        context = RunContext(
            session=session,
            clock=self._clock,
            business=business,
            lead=lead,
            sequence=sequence_for(business),
            composer=runner.composer,
            public_url=runner.public_url,
            knowledge=runner.knowledge,
            qualifier=runner.qualifier,
            first_touch_promise=runner.first_touch_promise,
            link_token=runner.link_token,
            ids=runner.ids,
        )
        configurable: dict[str, Any] = {"thread_id": lead_id, "checkpoint_ns": ""}
        latest = runner.checkpointer.latest_checkpoint_id(lead_id)
        if not lead.checkpoint_id:
            if latest is not None:
                # No committed run yet: a checkpoint here is a leftover of a run that died before
                # its commit, and building on it would skip touch 1.
                runner.checkpointer.delete_thread(lead_id)
        elif latest != lead.checkpoint_id:
            # A run died after writing its checkpoint: start from the one our last commit
            # recorded, never from the leftover. (Naming a checkpoint costs LangGraph a check for
            # newer ones, about a tenth of a run, so the usual case names none and loads the
            # latest, which is the same one.)
            configurable["checkpoint_id"] = lead.checkpoint_id
        config: RunnableConfig = {"configurable": configurable}
        inbox: list[InboxItem] = [{"id": e.id, "kind": e.kind, "payload": e.payload} for e in events]
        was_paused, stage_before = lead.graph_paused, lead.stage
        graph_input: LeadState | Command[Any] = (
            Command(resume={"inbox": inbox}) if lead.graph_paused else {"inbox": inbox}
        )
        started = time.perf_counter()
        final = runner.graph.invoke(graph_input, config, context=context, durability="exit")
        if self._metrics is not None:
            self._metrics.graph_runs.inc()
            self._metrics.graph_run_seconds.observe(time.perf_counter() - started)
        lead.checkpoint_id = runner.checkpointer.latest_checkpoint_id(lead_id)
        lead.graph_paused = INTERRUPT_KEY in final  # waiting at interrupt() for a rep
        # The claim commits with the run; the provider call comes after.
        claimed = self._deliverer.claim_queued(session, lead=lead, business=business, now=self._clock.now())
        mailbox.mark_processed(session, events, now)
        touch = final.get("next_touch")
        mailbox.set_timer(
            session, lead, from_iso(final.get("next_due_at")) if touch else None, now, payload={"touch": touch}
        )
        # Only a conversing lead past its last touch has a quiet check; one now waiting for a rep
        # (paused at interrupt(), where plan did not run) has none.
        quiet_check = None if lead.graph_paused else from_iso(final.get("quiet_check_at"))
        if quiet_check is not None or stage_before == stages.CONVERSING:
            mailbox.set_timer(session, lead, quiet_check, now, kind=mailbox.QUIET_CHECK)
        if was_paused or lead.graph_paused:  # SLA timers exist only while a handoff is open
            mailbox.set_timer(
                session,
                lead,
                from_iso(final.get("sla_check_at")),
                now,
                kind=mailbox.HANDOFF_SLA,
                payload={"handoff_id": final.get("handoff_id")},
            )
        notify = context.notifications > 0
        session.flush()  # a failing row fails this run here, before the lease is given back
        more = mailbox.has_due(session, lead_id, now)
        mailbox.release(session, lead_id, fence)  # raises LeaseLost (rolling back) if it moved
        return RunOutcome(claimed=claimed, more=more, notify=notify)


def _log_failure(error: Exception, leads: list[str]) -> None:
    if isinstance(error, _RunFailed):
        log.error("run of lead %s failed; its events stay in the mailbox", error.lead_id, exc_info=error.__cause__)
    else:  # the commit itself failed
        log.error("%d leads' runs failed to commit; their events stay in the mailbox", len(leads), exc_info=error)


def pending_by_kind(factory: sessionmaker[Session]) -> dict[str, int]:
    """Mailbox backlog for /metrics."""
    with transaction(factory) as session:
        return mailbox.pending_counts(session)
