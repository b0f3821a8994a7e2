"""Outbound-event benchmark: domain events delivered to a webhook endpoint, and what logging one costs.

    .venv/bin/python -m bench.events [--leads 20] [--per-lead 25] [--repeats 3] [--database-url URL]

1. Delivery: `leads` × `per-lead` events are logged for one endpoint (a local uvicorn receiver that
   answers 200), then `EventSender.deliver()` runs until all are delivered: signed, in order per
   lead, each claim and outcome committed. Baseline in the same run: the same number of signed
   POSTs of the same bodies through the same SSRF-checked client, with no database at all.
2. Logging: the median cost of `emit` inside a transaction when nobody subscribes (one indexed
   read) and with one subscriber (read + event + delivery rows), against the baseline of writing
   one decision row (`agent.activity.record`), the cheapest write a run makes.
Medians over `repeats`; the ratios are the figures to compare across machines.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent import activity
from agent.events import signing
from agent.events.log import LEAD_STAGE_CHANGED, emit
from agent.events.subscriber import Envelope
from agent.outbound_urls import TargetPolicy, target_client
from nudge.db import transaction
from nudge.models import EventDelivery, Lead, WebhookEndpoint, table_of
from nudge.runtime import Runtime, open_runtime
from nudge.settings import Settings
from nudge.tenants import create_business
from tests.support.server_thread import ServerThread


async def _ok(request: Request) -> Response:
    await request.body()
    return Response(status_code=200)


def _leads(session: sa.orm.Session, business_id: str, count: int, now: datetime) -> list[str]:
    ids = [f"lead_bench_{business_id[-6:]}_{i}" for i in range(count)]
    rows = [
        {"id": i, "business_id": business_id, "email": f"{i}@bench.example", "created_at": now, "updated_at": now}
        for i in ids
    ]
    session.execute(table_of(Lead).insert(), rows)
    return ids


def run(leads: int, per_lead: int, repeats: int, database_url: str | None) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        ServerThread(Starlette(routes=[Route("/hook", _ok, methods=["POST"])])) as hook,
    ):
        settings = Settings(
            _env_file=None,
            NUDGE_DATABASE_URL=database_url or f"sqlite:///{Path(tmp) / 'nudge.db'}",
            NUDGE_DATA_DIR=tmp,
            NUDGE_ALLOW_PRIVATE_WEBHOOKS=True,
        )
        with open_runtime(settings) as runtime:
            deliver_rates, baseline_rates, ratios = [], [], []
            for _ in range(repeats):
                now = runtime.clock.now()
                with transaction(runtime.sessions) as session:
                    business = create_business(session, name="Bench", now=now).business
                    session.add(
                        WebhookEndpoint(
                            business_id=business.id,
                            url=f"{hook.url}/hook",
                            secret=signing.new_secret(),
                            created_at=now,
                            updated_at=now,
                        )
                    )
                    session.flush()
                    ids = _leads(session, business.id, leads, now)
                    for n in range(per_lead):
                        for lead_id in ids:
                            data = {"lead": {"id": lead_id}, "from": "new", "to": f"step{n}"}
                            emit(
                                session,
                                business_id=business.id,
                                lead_id=lead_id,
                                type=LEAD_STAGE_CHANGED,
                                data=data,
                                now=now,
                            )
                total = leads * per_lead
                started = time.perf_counter()
                delivered = 0
                while delivered < total:
                    got = runtime.events.deliver(limit=10_000)
                    if got == 0:
                        raise SystemExit("deliveries stopped short")
                    delivered += got
                deliver_rates.append(total / (time.perf_counter() - started))
                with transaction(runtime.sessions) as session:
                    left = session.scalar(sa.select(sa.func.count()).where(EventDelivery.status != "delivered"))
                    assert left == 0
                secret = signing.new_secret()
                with target_client(TargetPolicy(allow_private=True)) as client:
                    started = time.perf_counter()
                    for n in range(total):
                        event = Envelope(f"evt_{n}", LEAD_STAGE_CHANGED, now, business.id, "lead", {"n": n})
                        body = event.body()
                        client.post(
                            f"{hook.url}/hook", content=body, headers=signing.headers([secret], event.id, now, body)
                        )
                    baseline_rates.append(total / (time.perf_counter() - started))
                ratios.append(deliver_rates[-1] / baseline_rates[-1])
            rate, base = statistics.median(deliver_rates), statistics.median(baseline_rates)
            print(f"delivery: {rate:,.0f} events/s (median of {repeats} runs of {leads} leads × {per_lead} events)")
            print(f"  baseline, bare signed POSTs: {base:,.0f}/s; ratio {statistics.median(ratios):.2f}")
            _logging_cost(runtime, repeats)


def _logging_cost(runtime: Runtime, repeats: int) -> None:
    now = datetime.now(UTC)
    timings: dict[str, list[float]] = {"no subscriber": [], "one subscriber": [], "baseline activity row": []}
    with transaction(runtime.sessions) as session:
        quiet = create_business(session, name="Quiet", now=now).business
        loud = create_business(session, name="Loud", now=now).business
        session.add(
            WebhookEndpoint(
                business_id=loud.id,
                url="http://127.0.0.1:9/",
                secret=signing.new_secret(),
                created_at=now,
                updated_at=now,
            )
        )
        session.flush()
        quiet_lead = _leads(session, quiet.id, 1, now)[0]
        loud_lead = _leads(session, loud.id, 1, now)[0]
    for _ in range(repeats):
        with transaction(runtime.sessions) as session:
            lead = session.get(Lead, quiet_lead)
            assert lead is not None
            for label, business_id, lead_id in (
                ("no subscriber", quiet.id, quiet_lead),
                ("one subscriber", loud.id, loud_lead),
            ):
                started = time.perf_counter()
                for _ in range(1000):
                    emit(
                        session,
                        business_id=business_id,
                        lead_id=lead_id,
                        type=LEAD_STAGE_CHANGED,
                        data={"to": "x"},
                        now=now,
                    )
                timings[label].append((time.perf_counter() - started) / 1000)
            started = time.perf_counter()
            for _ in range(1000):
                activity.record(session, lead, now, "bench", "x")
            timings["baseline activity row"].append((time.perf_counter() - started) / 1000)
            session.rollback()
    base = statistics.median(timings["baseline activity row"])
    for label, values in timings.items():
        median = statistics.median(values)
        print(f"emit, {label}: {median * 1e6:,.0f} µs ({median / base:.2f}× one activity row)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--leads", type=int, default=20)
    parser.add_argument("--per-lead", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    run(args.leads, args.per_lead, args.repeats, args.database_url)


if __name__ == "__main__":
    main()
