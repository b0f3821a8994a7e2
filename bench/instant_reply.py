"""Instant-reply benchmark: webhook-to-send latency at 20 concurrent leads, against two floors.

    .venv/bin/python -m bench.instant_reply [--concurrency 20] [--trials 5] [--rounds 4] [--in-process]
                                            [--json FILE]

1. Nudge: `nudge serve` in its own process, as deployed (SQLite in a temp dir, live Twilio channel
   pointed at the local Twilio stand-in, template composer, no LLM, no sandbox); the senders and the
   stand-in, which stand for the outside world, run in the bench process. `--in-process` runs Nudge
   on threads of the bench process instead (tests.conftest.live_nudge). Each round, C fresh
   leads (different phones) post a signed inbound WhatsApp message at the same moment (a barrier
   releases C threads). Latency = from just before the webhook POST to the moment the stand-in
   handled the Messages create for that lead (its `received_at`, time.monotonic()).
2. Stack floor: the same fixed stack with no Nudge logic, in its own process (this file run with
   --serve-stack-floor): uvicorn + FastAPI, one form POST endpoint that checks X-Twilio-Signature
   with twilio's RequestValidator, does one bare LangGraph invoke on the same checkpointer kind (as
   the LangGraph floor below) and sends the reply with the real `twilio` client (stock, its API
   domain pointed at the stand-in) before answering. Measured like Nudge: C fresh
   leads post a signed webhook at once; latency = POST → the stand-in handling the Messages create.
3. LangGraph floor: a bare LangGraph invoke with the same checkpointer kind
   (graph.checkpointer.open_checkpointer on a SQLite file): one trivial node, thread_id per lead,
   durability="exit", from C threads of the bench process at once, the same number of samples.
4. Ratios and targets: Nudge p99 under 150 ms on SQLite; Nudge p99 / LangGraph floor p99 under 3.
   Nudge / stack floor says how much of the gap is Nudge's own work; stack floor / LangGraph floor
   how much the fixed stack (HTTP, form, signature, Twilio client, a second process) costs by itself.

Trials interleave Nudge, stack-floor and LangGraph-floor rounds so machine noise hits them alike.
Figures are quoted as the median over trials (robust to one noisy trial) and pooled over every
sample. One warm-up round of each is run first and not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypedDict

import httpx
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from graph.checkpointer import open_checkpointer
from nudge.db import create_db_engine, make_session_factory, transaction
from nudge.models import LeadEvent, Outbox
from nudge.runtime import open_runtime
from nudge.settings import Settings
from nudge.sim.sample import whatsapp_templates
from nudge.tenants import create_business
from tests.conftest import live_nudge
from tests.support.twilio_stub import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    TwilioStub,
    inbound_params,
    twilio_signature,
)

ROOT = Path(__file__).resolve().parents[1]  # the project, where `nudge serve` runs
WA_NUMBER = "+14155550100"
SMS_NUMBER = "+14155550101"
BODIES = (
    "Oi, quanto custa o plano anual?",
    "Hi, how much is the yearly plan?",
    "Hola, ¿cuánto cuesta el plan anual?",
    "Hello! Do you have availability next week?",
)
WEBHOOK_PATH = "/webhooks/twilio/inbound"
P99_TARGET_MS = 150.0
RATIO_TARGET = 3.0


# ------------------------------------------------------------------------------------------------
# Statistics
# ------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Summary:
    samples: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Summary:
        ms = [s * 1000.0 for s in seconds]
        return cls(len(ms), percentile(ms, 50), percentile(ms, 99), statistics.fmean(ms), max(ms))


@dataclass
class Series:
    """Samples (seconds) grouped by trial."""

    name: str
    trials: list[list[float]]

    def pooled(self) -> Summary:
        return Summary.of([s for trial in self.trials for s in trial])

    def per_trial(self) -> list[Summary]:
        return [Summary.of(trial) for trial in self.trials if trial]

    def median_of_trials(self) -> Summary:
        rows = self.per_trial()
        return Summary(
            samples=sum(r.samples for r in rows),
            p50_ms=statistics.median(r.p50_ms for r in rows),
            p99_ms=statistics.median(r.p99_ms for r in rows),
            mean_ms=statistics.median(r.mean_ms for r in rows),
            max_ms=statistics.median(r.max_ms for r in rows),
        )


# ------------------------------------------------------------------------------------------------
# Nudge: webhook → Twilio stand-in
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shot:
    phone: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass(frozen=True)
class Target:
    """A running Nudge: where its webhook is, the stand-in it sends to, and its database."""

    url: str
    stub: TwilioStub
    sessions: sessionmaker[Session]


class WebhookBench:
    """C fresh leads post a signed inbound WhatsApp webhook at `url` at the same moment; each
    latency runs from just before its POST to the stand-in handling the reply's Messages create."""

    def __init__(self, url: str, stub: TwilioStub, concurrency: int, *, first_phone: int) -> None:
        self.stub = stub
        self.concurrency = concurrency
        self.webhook_url = f"{url}{WEBHOOK_PATH}"
        self._first_phone = first_phone  # each bench its own phones: they share the stand-in
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bench-lead")
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._clients_lock = threading.Lock()
        self._rounds = 0

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for client in self._clients:
            client.close()

    def _client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(timeout=30, trust_env=False)
            self._local.client = client
            with self._clients_lock:
                self._clients.append(client)
        return client

    def _shots(self) -> list[Shot]:
        """Fresh leads, signed in advance: signing is Twilio's work, not part of the latency."""
        self._rounds += 1
        shots = []
        for i in range(self.concurrency):
            phone = f"+55119{self._first_phone + self._rounds * 1000 + i}"
            params = inbound_params(f"whatsapp:{phone}", f"whatsapp:{WA_NUMBER}", BODIES[i % len(BODIES)])
            headers = {
                "X-Twilio-Signature": twilio_signature(self.webhook_url, params, DEFAULT_AUTH_TOKEN),
                "User-Agent": "TwilioProxy/1.1",
            }
            shots.append(Shot(phone, params, headers))
        return shots

    def round(self) -> tuple[list[float], list[float]]:
        """One round of C simultaneous leads: (webhook→send latencies, webhook response times)."""
        self.stub.reset()  # keeps the stand-in's journal small: its waiters copy it on every message
        shots = self._shots()
        barrier = threading.Barrier(self.concurrency)

        def fire(shot: Shot) -> tuple[str, float, float]:
            client = self._client()
            barrier.wait()
            started = time.monotonic()
            response = client.post(self.webhook_url, data=shot.params, headers=shot.headers)
            answered = time.monotonic()
            if response.status_code != 200:
                raise RuntimeError(f"webhook answered {response.status_code}: {response.text[:200]}")
            return shot.phone, started, answered - started

        fired = list(self._pool.map(fire, shots))
        self.stub.wait_for(self.concurrency, timeout=30)
        first_reply: dict[str, float] = {}
        for message in self.stub.messages:
            to = message["to"].removeprefix("whatsapp:")
            first_reply[to] = min(first_reply.get(to, message["received_at"]), message["received_at"])
        missing = [phone for phone, _, _ in fired if phone not in first_reply]
        if missing:
            raise RuntimeError(f"no reply for {missing}")
        self._settle()
        return [first_reply[phone] - started for phone, started, _ in fired], [took for _, _, took in fired]

    def _settle(self) -> None:
        """Wait until the server has finished the round's work (nothing left by default)."""


class NudgeBench(WebhookBench):
    def __init__(self, target: Target, concurrency: int) -> None:
        super().__init__(target.url, target.stub, concurrency, first_phone=80000000)
        self.target = target

    def _settle(self, timeout: float = 10.0) -> None:
        """Wait until the dispatcher has finished this round (sent rows recorded, mailbox drained)."""
        deadline = time.monotonic() + timeout
        sessions = self.target.sessions
        while time.monotonic() < deadline:
            with sessions() as session:
                busy = session.scalar(
                    sa.select(sa.func.count()).select_from(Outbox).where(Outbox.status.in_(("pending", "sending")))
                )
                pending = session.scalar(
                    sa.select(sa.func.count())
                    .select_from(LeadEvent)
                    .where(LeadEvent.processed_at.is_(None), LeadEvent.kind != "touch_due")
                )
            if not busy and not pending:
                time.sleep(0.05)  # the last worker thread is still releasing its lease
                return
            time.sleep(0.02)
        raise RuntimeError("the dispatcher did not settle between rounds")


# ------------------------------------------------------------------------------------------------
# Floor: a bare LangGraph invoke on the SQLite checkpointer
# ------------------------------------------------------------------------------------------------


class FloorState(TypedDict):
    n: int


def _bump(state: FloorState) -> FloorState:
    return {"n": state["n"] + 1}


def floor_graph(checkpointer: BaseCheckpointSaver[Any]) -> CompiledStateGraph[Any, Any, Any, Any]:
    """One trivial node: what LangGraph itself costs per invoke on this checkpointer."""
    builder = StateGraph(FloorState)
    builder.add_node("bump", _bump)
    builder.add_edge(START, "bump")
    builder.add_edge("bump", END)
    return builder.compile(checkpointer=checkpointer)


class FloorBench:
    def __init__(self, database_url: str, concurrency: int) -> None:
        self.concurrency = concurrency
        self._stack = open_checkpointer(database_url)
        self.graph = floor_graph(self._stack.__enter__())
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bench-floor")
        self._rounds = 0

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._stack.__exit__(None, None, None)

    def round(self) -> list[float]:
        self._rounds += 1
        barrier = threading.Barrier(self.concurrency)
        thread_ids = [f"floor-{self._rounds}-{i}" for i in range(self.concurrency)]

        def invoke(thread_id: str) -> float:
            barrier.wait()
            started = time.monotonic()
            self.graph.invoke({"n": 0}, {"configurable": {"thread_id": thread_id}}, durability="exit")
            return time.monotonic() - started

        return list(self._pool.map(invoke, thread_ids))


# ------------------------------------------------------------------------------------------------
# Stack floor: uvicorn + FastAPI + RequestValidator + one LangGraph invoke + the twilio client
# ------------------------------------------------------------------------------------------------

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def stack_floor_app(database_url: str, public_url: str, api_url: str) -> FastAPI:
    """The fixed stack and nothing of Nudge: check the signature, one bare LangGraph invoke (as the
    LangGraph floor), reply with the real twilio client, answer Twilio."""
    validator = RequestValidator(DEFAULT_AUTH_TOKEN)
    twilio = Client(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN)  # the stock client and its HTTP client
    twilio.api.base_url = api_url  # the stand-in instead of https://api.twilio.com
    graphs: list[CompiledStateGraph[Any, Any, Any, Any]] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        with open_checkpointer(database_url) as checkpointer:
            graphs.append(floor_graph(checkpointer))
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(WEBHOOK_PATH)
    async def inbound(request: Request) -> Response:
        form = await request.form()
        params = {key: value for key, value in form.items() if isinstance(value, str)}
        if not validator.validate(public_url + WEBHOOK_PATH, params, request.headers.get("x-twilio-signature", "")):
            return Response(status_code=403)

        def reply() -> None:
            graphs[0].invoke({"n": 0}, {"configurable": {"thread_id": params["From"]}}, durability="exit")
            twilio.messages.create(to=params["From"], from_=params["To"], body="Thanks, we got your message.")

        await run_in_threadpool(reply)
        return Response(EMPTY_TWIML, media_type="text/xml")

    return app


def serve_stack_floor(args: argparse.Namespace) -> int:
    url = f"http://127.0.0.1:{args.port}"
    app = stack_floor_app(args.database_url, url, args.api_url)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


@contextmanager
def served_stack_floor(workdir: Path, stub: TwilioStub) -> Iterator[str]:
    """The stack floor in its own process (this file with --serve-stack-floor); yields its URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (workdir / "stack-floor.log").open("w")
    server = subprocess.Popen(
        [
            *(sys.executable, str(Path(__file__).resolve()), "--serve-stack-floor", "--port", str(port)),
            *("--database-url", f"sqlite:///{workdir / 'stack-floor.db'}", "--api-url", stub.url),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_healthy(url, server, workdir / "stack-floor.log")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


# ------------------------------------------------------------------------------------------------
# Driver
# ------------------------------------------------------------------------------------------------


def _ms(summary: Summary) -> str:
    return f"p50 {summary.p50_ms:6.1f}  p99 {summary.p99_ms:6.1f}  max {summary.max_ms:6.1f} ms"


def progress(text: str) -> None:
    print(text, flush=True)


BUSINESS_FIELDS: dict[str, Any] = {
    "whatsapp_from": WA_NUMBER,
    "sms_from": SMS_NUMBER,
    "email_from": "Acme <hi@acme.example>",
    "whatsapp_templates": whatsapp_templates("Acme Growth"),
}


@contextmanager
def in_process_nudge(args: argparse.Namespace, workdir: Path) -> Iterator[Target]:
    """Nudge's API and workers on threads of this process (the test suite's `live_nudge`)."""
    extra = {"NUDGE_TICK_SECONDS": args.tick, "NUDGE_DISPATCHER_THREADS": args.dispatcher_threads}
    with live_nudge(f"sqlite:///{workdir / 'nudge.db'}", workdir, **extra) as live:
        assert live.twilio is not None
        live.business("Acme Growth", **BUSINESS_FIELDS)
        yield Target(live.url, live.twilio, live.runtime.sessions)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served_nudge(args: argparse.Namespace, workdir: Path) -> Iterator[Target]:
    """`nudge serve` in its own process, as in production: the webhook senders and the Twilio
    stand-in (the outside world) run in this process and do not share Nudge's interpreter."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    database_url = f"sqlite:///{workdir / 'nudge.db'}"
    with TwilioStub(status_mode="off") as stub:
        env = {
            "NUDGE_DATABASE_URL": database_url,
            "NUDGE_DATA_DIR": str(workdir),
            "NUDGE_CHANNELS": "live",
            "NUDGE_PUBLIC_URL": url,
            "NUDGE_TWILIO_API_URL": stub.url,
            "NUDGE_SMTP_URL": "smtp://127.0.0.1:1",
            "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
            "NUDGE_TICK_SECONDS": str(args.tick),
            "NUDGE_DISPATCHER_THREADS": str(args.dispatcher_threads),
            "NUDGE_LOG_LEVEL": "WARNING",
        }
        settings = Settings(_env_file=None, **env)  # type: ignore[arg-type]
        with open_runtime(settings) as runtime, transaction(runtime.sessions) as session:
            create_business(session, name="Acme Growth", now=runtime.clock.now(), fields=BUSINESS_FIELDS)
        log = (workdir / "serve.log").open("w")
        server = subprocess.Popen(
            [sys.executable, "-m", "nudge.cli.main", "serve", "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        engine = create_db_engine(database_url)
        try:
            _wait_healthy(url, server, workdir / "serve.log")
            yield Target(url, stub, make_session_factory(engine))
        finally:
            server.terminate()
            server.wait(timeout=30)
            engine.dispose()
            log.close()


def _wait_healthy(url: str, server: subprocess.Popen[bytes], log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"nudge serve exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"nudge serve did not answer /healthz within {timeout:.0f}s")


@dataclass
class Benches:
    nudge: NudgeBench
    stack: WebhookBench
    floor: FloorBench


@contextmanager
def benches(args: argparse.Namespace, workdir: Path) -> Iterator[Benches]:
    nudge_dir = workdir / "nudge"
    nudge_dir.mkdir()
    started = in_process_nudge if args.in_process else served_nudge
    with started(args, nudge_dir) as target, served_stack_floor(workdir, target.stub) as stack_url:
        running = Benches(
            nudge=NudgeBench(target, args.concurrency),
            stack=WebhookBench(stack_url, target.stub, args.concurrency, first_phone=60000000),
            floor=FloorBench(f"sqlite:///{workdir / 'floor.db'}", args.concurrency),
        )
        try:
            yield running
        finally:
            running.nudge.close()
            running.stack.close()
            running.floor.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    nudge_series = Series("nudge", [[] for _ in range(args.trials)])
    response_series = Series("webhook response", [[] for _ in range(args.trials)])
    stack_series = Series("stack floor", [[] for _ in range(args.trials)])
    floor_series = Series("floor", [[] for _ in range(args.trials)])
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nudge-bench-") as tmp, benches(args, Path(tmp)) as bench:
        progress(
            f"started Nudge, the stack floor and the Twilio stand-in in {time.monotonic() - began:.1f}s; warming up"
        )
        for _ in range(args.warmup):
            warm, _ = bench.nudge.round()
            stack_warm, _ = bench.stack.round()
            floor_warm = bench.floor.round()
            progress(
                f"  warm-up  nudge {_ms(Summary.of(warm))}   stack {_ms(Summary.of(stack_warm))}"
                f"   floor {_ms(Summary.of(floor_warm))}"
            )
        for trial in range(args.trials):
            for _ in range(args.rounds):  # interleaved, so noise hits all three alike
                latencies, responses = bench.nudge.round()
                nudge_series.trials[trial].extend(latencies)
                response_series.trials[trial].extend(responses)
                stack_latencies, _ = bench.stack.round()
                stack_series.trials[trial].extend(stack_latencies)
                floor_latencies = bench.floor.round()
                floor_series.trials[trial].extend(floor_latencies)
                progress(
                    f"  trial {trial + 1}/{args.trials}  nudge {_ms(Summary.of(latencies))}"
                    f"   stack {_ms(Summary.of(stack_latencies))}   floor {_ms(Summary.of(floor_latencies))}"
                )
    elapsed = time.monotonic() - began
    return report(args, nudge_series, stack_series, floor_series, response_series, elapsed)


def report(
    args: argparse.Namespace, nudge: Series, stack: Series, floor: Series, responses: Series, elapsed: float
) -> dict[str, Any]:
    n_med, s_med, f_med = nudge.median_of_trials(), stack.median_of_trials(), floor.median_of_trials()
    n_all, s_all, f_all, r_all = nudge.pooled(), stack.pooled(), floor.pooled(), responses.pooled()
    ratio_p50 = n_med.p50_ms / f_med.p50_ms
    ratio_p99 = n_med.p99_ms / f_med.p99_ms
    p99_ok = n_med.p99_ms < P99_TARGET_MS
    ratio_ok = ratio_p99 < RATIO_TARGET

    print()
    where = "threads of the bench process" if args.in_process else "`nudge serve` in its own process"
    print(f"Instant reply at {args.concurrency} concurrent leads, SQLite, templates, live Twilio channel → local stub")
    print(
        f"Nudge ran on {where}, the stack floor in its own process; "
        "senders and the Twilio stand-in in the bench process"
    )
    print(
        f"{args.trials} trials x {args.rounds} rounds x {args.concurrency} leads (+{args.warmup} warm-up round), "
        f"{args.dispatcher_threads} dispatcher threads, tick {args.tick}s, {elapsed:.0f}s total"
    )
    print()
    header = f"{'':38} {'n':>5} {'p50':>8} {'p99':>8} {'mean':>8} {'max':>8}   (ms)"
    print(header)
    print("-" * len(header))
    rows = [
        ("Nudge webhook→send, median of trials", n_med),
        ("Nudge webhook→send, pooled", n_all),
        ("Stack floor, median of trials", s_med),
        ("Stack floor, pooled", s_all),
        ("LangGraph floor, median of trials", f_med),
        ("LangGraph floor, pooled", f_all),
        ("(Nudge webhook 200 response, pooled)", r_all),
    ]
    for label, row in rows:
        print(f"{label:38} {row.samples:5d} {row.p50_ms:8.1f} {row.p99_ms:8.1f} {row.mean_ms:8.1f} {row.max_ms:8.1f}")
    print()
    print("per trial (p50 / p99 ms):")
    for i, (n, st, f) in enumerate(zip(nudge.per_trial(), stack.per_trial(), floor.per_trial(), strict=True), start=1):
        print(
            f"  trial {i}: Nudge {n.p50_ms:6.1f} / {n.p99_ms:6.1f}   stack floor {st.p50_ms:6.1f} / {st.p99_ms:6.1f}"
            f"   LangGraph floor {f.p50_ms:6.1f} / {f.p99_ms:6.1f}"
            f"   ratio Nudge/LangGraph p99 {n.p99_ms / f.p99_ms:5.2f}"
        )
    ratios = {
        "p50_over_p50": ratio_p50,
        "p99_over_p99": ratio_p99,
        "pooled_p50_over_p50": n_all.p50_ms / f_all.p50_ms,
        "pooled_p99_over_p99": n_all.p99_ms / f_all.p99_ms,
        "nudge_over_stack_p50": n_med.p50_ms / s_med.p50_ms,
        "nudge_over_stack_p99": n_med.p99_ms / s_med.p99_ms,
        "stack_over_floor_p50": s_med.p50_ms / f_med.p50_ms,
        "stack_over_floor_p99": s_med.p99_ms / f_med.p99_ms,
    }
    print()
    print(f"ratio Nudge p50 / LangGraph floor p50:  {ratio_p50:5.2f}   (pooled {ratios['pooled_p50_over_p50']:5.2f})")
    print(f"ratio Nudge p99 / LangGraph floor p99:  {ratio_p99:5.2f}   (pooled {ratios['pooled_p99_over_p99']:5.2f})")
    print(
        f"ratio Nudge / stack floor:              p50 {ratios['nudge_over_stack_p50']:5.2f}"
        f"   p99 {ratios['nudge_over_stack_p99']:5.2f}"
    )
    print(
        f"ratio stack floor / LangGraph floor:    p50 {ratios['stack_over_floor_p50']:5.2f}"
        f"   p99 {ratios['stack_over_floor_p99']:5.2f}"
    )
    print()
    verdict = {True: "MET", False: "MISSED"}
    print(f"target p99 < {P99_TARGET_MS:.0f} ms on SQLite:  {verdict[p99_ok]} (Nudge p99 {n_med.p99_ms:.1f} ms)")
    print(f"target Nudge p99 / LangGraph floor p99 < {RATIO_TARGET:.0f}:  {verdict[ratio_ok]} ({ratio_p99:.2f})")
    return {
        "config": {
            "concurrency": args.concurrency,
            "trials": args.trials,
            "rounds": args.rounds,
            "warmup_rounds": args.warmup,
            "dispatcher_threads": args.dispatcher_threads,
            "tick_seconds": args.tick,
            "database": "sqlite",
            "nudge_process": "in-process" if args.in_process else "nudge serve",
            "composer": "templates",
            "elapsed_seconds": round(elapsed, 1),
        },
        "nudge": {
            "median_of_trials": asdict(n_med),
            "pooled": asdict(n_all),
            "per_trial": [asdict(row) for row in nudge.per_trial()],
        },
        "stack_floor": {
            "median_of_trials": asdict(s_med),
            "pooled": asdict(s_all),
            "per_trial": [asdict(row) for row in stack.per_trial()],
        },
        "floor": {
            "median_of_trials": asdict(f_med),
            "pooled": asdict(f_all),
            "per_trial": [asdict(row) for row in floor.per_trial()],
        },
        "webhook_response": {"pooled": asdict(r_all)},
        "ratios": ratios,
        "targets": {
            "p99_under_ms": P99_TARGET_MS,
            "p99_met": p99_ok,
            "ratio_p99_over_p99_under": RATIO_TARGET,
            "ratio_met": ratio_ok,
        },
        "samples_seconds": {"nudge": nudge.trials, "stack_floor": stack.trials, "floor": floor.trials},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=20, help="simultaneous leads per round")
    parser.add_argument("--trials", type=int, default=5, help="trials (figures are medians over trials)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per trial, each with fresh leads")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up rounds, not counted")
    parser.add_argument("--dispatcher-threads", type=int, default=4, help="NUDGE_DISPATCHER_THREADS")
    parser.add_argument("--tick", type=float, default=1.0, help="NUDGE_TICK_SECONDS (production default 1.0)")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run Nudge on threads of the bench process instead of `nudge serve` in its own process",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    # Internal: how the bench starts the stack floor's server process.
    parser.add_argument("--serve-stack-floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--api-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_stack_floor:
        return serve_stack_floor(args)
    figures = run(args)
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
