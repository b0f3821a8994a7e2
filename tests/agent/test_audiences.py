"""Retargeting audiences against local stand-ins of Meta's Custom Audiences edge and a webhook:
the lead is added at the value-offer touch, removed on conversion, and only hashes ever arrive."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa

from agent.audiences.hashing import contact_hashes, normalise_phone
from agent.audiences.meta import MetaCustomAudience
from nudge.cli.demo import DEMO_LEADS
from nudge.clock import VirtualClock
from nudge.db import transaction
from nudge.models import AudienceJob, Lead, Message
from nudge.runtime import Runtime, open_runtime
from nudge.signing import sign
from nudge.sim.engine import SimLead, Simulation
from nudge.sim.sample import SAMPLE_BUSINESSES
from nudge.sim.setup import DEFAULT_START, create_sample_businesses
from tests.conftest import make_settings
from tests.support.audience_stub import AudienceStub, Received
from tests.support.smtp_server import SmtpServer
from tests.support.twilio_stub import TwilioStub

HOOK_SECRET = "hook-secret"
CONVERTS = next(p for p in DEMO_LEADS if p.name == "converts")  # clicks the offer, buys a day later


World = tuple[Runtime, Simulation, AudienceStub, str]


@pytest.fixture
def world(sqlite_url: str, tmp_path: Path) -> Iterator[World]:
    with _world(sqlite_url, tmp_path) as built:
        yield built


@contextmanager
def _world(database_url: str, tmp_path: Path, **settings: Any) -> Iterator[World]:
    """A business with a Meta audience and a webhook audience, both on the local stand-in."""
    clock = VirtualClock(DEFAULT_START)
    with (
        TwilioStub(status_mode="off", now=clock.now) as twilio,
        SmtpServer() as smtp,
        AudienceStub() as audiences,
    ):
        live = make_settings(
            database_url,
            tmp_path,
            NUDGE_CHANNELS="live",
            NUDGE_TWILIO_API_URL=twilio.url,
            NUDGE_SMTP_URL=smtp.url,
            NUDGE_META_GRAPH_URL=audiences.url,
            **settings,
        )
        with open_runtime(live, clock=clock, seed=3) as runtime:
            business = {
                **SAMPLE_BUSINESSES[0],
                "audiences": [
                    {"kind": "meta", "audience_id": "2385", "access_token": "EAAB-token"},
                    {"kind": "webhook", "name": "crm", "url": f"{audiences.url}/hook", "secret": HOOK_SECRET},
                ],
            }
            business_id = create_sample_businesses(runtime, [business])[0]
            yield runtime, Simulation(runtime, clock, random.Random(3)), audiences, business_id


def _meta_rows(request: Received) -> list[list[str]]:
    form = parse_qs(request.body.decode())
    payload: dict[str, Any] = json.loads(form["payload"][0])
    assert payload["schema"] == ["EMAIL", "PHONE"] and form["access_token"] == ["EAAB-token"]
    rows: list[list[str]] = payload["data"]
    return rows


def test_value_offer_adds_the_lead_and_conversion_removes_it_with_hashes_only(
    world: World,
) -> None:
    runtime, sim, stub, business_id = world
    lead: SimLead = sim.add_lead(CONVERTS, business_id, DEFAULT_START)
    sim.run_until(DEFAULT_START + timedelta(days=70))
    runtime.deliverer.deliver()
    assert lead.lead_id is not None
    with transaction(runtime.sessions) as session:
        row = session.get(Lead, lead.lead_id)
        assert row is not None and row.email and row.phone
        email, phone, stage = row.email, row.phone, row.stage
        offer = session.scalars(
            sa.select(Message).where(Message.lead_id == lead.lead_id, Message.touch == 5, Message.direction == "out")
        ).one()
        jobs = list(session.scalars(sa.select(AudienceJob).order_by(AudienceJob.created_at)))
    assert stage == "won"
    assert [(j.action, j.reason, j.status) for j in jobs] == [
        ("add", "value_offer", "sent"),
        ("remove", "converted", "sent"),
    ]
    assert jobs[0].created_at == offer.created_at, "added in the run that sent the value offer"
    expected = {
        "email": hashlib.sha256(email.strip().lower().encode()).hexdigest(),
        "phone": hashlib.sha256(phone.lstrip("+").encode()).hexdigest(),
    }
    assert jobs[0].hashes == expected

    received = stub.received
    assert [(r.method, r.path) for r in received] == [
        ("POST", "/v21.0/2385/users"),
        ("POST", "/hook"),
        ("DELETE", "/v21.0/2385/users"),
        ("POST", "/hook"),
    ]
    for request in received:
        text = request.body.decode()
        for raw in (email, email.split("@")[0], phone, phone.lstrip("+"), "Priya"):
            assert raw not in text, f"raw contact data {raw!r} sent to {request.path}"
    assert _meta_rows(received[0]) == [[expected["email"], expected["phone"]]]
    assert _meta_rows(received[2]) == [[expected["email"], expected["phone"]]]
    hook = json.loads(received[1].body)
    assert hook == {
        "action": "add",
        "audience": "crm",
        "members": [{"email_sha256": expected["email"], "phone_sha256": expected["phone"]}],
    }
    assert json.loads(received[3].body)["action"] == "remove"
    stamp = int(received[1].headers["x-nudge-timestamp"])
    assert received[1].headers["x-nudge-signature"] == sign(HOOK_SECRET, stamp, received[1].body)


def test_an_unreachable_destination_is_retried_later(world: World) -> None:
    runtime, sim, stub, business_id = world
    stub.fail_next = 1
    lead = sim.add_lead(CONVERTS, business_id, DEFAULT_START)
    sim.run_until(DEFAULT_START + timedelta(days=7, hours=12))  # the value offer went out, no conversion yet
    runtime.deliverer.deliver()
    with transaction(runtime.sessions) as session:
        job = session.scalars(sa.select(AudienceJob).where(AudienceJob.lead_id == lead.lead_id)).one()
        assert (job.status, job.attempts) == ("pending", 1) and job.last_error and "503" in job.last_error
        retry_at = job.available_at
    sim.clock.set(retry_at)
    runtime.deliverer.deliver()
    with transaction(runtime.sessions) as session:
        assert session.scalars(sa.select(AudienceJob.status)).one() == "sent"
    assert [r.method for r in stub.received].count("POST") == 3  # refused, then Meta and the webhook


def test_meta_batches_at_most_ten_thousand_rows_and_normalises_like_meta() -> None:
    assert normalise_phone("+44 (0)20 7946-0958") == "4402079460958"
    assert contact_hashes("  Dana@Example.COM ", None) == {"email": hashlib.sha256(b"dana@example.com").hexdigest()}
    assert contact_hashes(None, None) == {}

    class Recorder:
        def __init__(self) -> None:
            self.sizes: list[int] = []

        def request(self, method: str, url: str, *, data: dict[str, str], timeout: float) -> Any:
            self.sizes.append(len(json.loads(data["payload"])["data"]))
            return type("R", (), {"status_code": 200, "text": "{}"})()

    recorder = Recorder()
    audience = MetaCustomAudience(recorder, audience_id="1", access_token="t")  # type: ignore[arg-type]
    audience.sync("add", [{"email": "a" * 64}] * 25_001)
    assert recorder.sizes == [10_000, 10_000, 5_001]


def test_a_webhook_audience_on_a_private_address_is_refused_at_send_time(any_database_url: str, tmp_path: Path) -> None:
    """The webhook URL was saved while private targets were allowed (here: written directly); with
    the default policy the send is refused and the reason recorded, and Meta, whose host the
    operator sets, is still reached."""
    with _world(any_database_url, tmp_path, NUDGE_ALLOW_PRIVATE_WEBHOOKS=False) as (runtime, sim, stub, business_id):
        lead = sim.add_lead(CONVERTS, business_id, DEFAULT_START)
        sim.run_until(DEFAULT_START + timedelta(days=7, hours=12))  # the value offer went out
        runtime.deliverer.deliver()
        with transaction(runtime.sessions) as session:
            job = session.scalars(sa.select(AudienceJob).where(AudienceJob.lead_id == lead.lead_id)).one()
            status, attempts, error = job.status, job.attempts, job.last_error
    assert (status, attempts) == ("failed", 1), "a refused target is not retried"
    assert error == ("webhook:crm refused: 127.0.0.1 is a loopback address; only public addresses can receive webhooks")
    assert [(r.method, r.path) for r in stub.received] == [("POST", "/v21.0/2385/users")]
