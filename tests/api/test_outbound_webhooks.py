"""Outbound webhooks (issue #23, item 3): a receiver written with the `standardwebhooks` library
verifies every event Nudge sends; one that is down for an hour (on the injected clock) gets
everything once it is back, in order per lead, nothing twice; a day of failures dead-letters a
delivery, which the API replays with its original `webhook-id`; secrets rotate with an overlap."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook

from agent.events.log import EVENT_TYPES
from nudge.cli.demo import DEMO_LEADS
from nudge.db import transaction
from nudge.models import DomainEvent, EventDelivery, Handoff, WebhookEndpoint
from nudge.sim.engine import Simulation
from nudge.sim.setup import DEFAULT_START
from tests.conftest import postgres_schema
from tests.support.events_world import Nudge, nudge
from tests.support.webhook_receiver import WebhookReceiver

PERSONAS = {p.name: p for p in DEMO_LEADS}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nudge.db'}"
        return
    with postgres_schema() as url:
        yield url


def _logged(n: Nudge) -> list[tuple[str, str | None, str]]:
    """(event id, lead id, type) of every logged event, in log order."""
    with transaction(n.runtime.sessions) as session:
        rows = session.execute(
            sa.select(DomainEvent.id, DomainEvent.lead_id, DomainEvent.type).order_by(DomainEvent.seq)
        )
        return [(row.id, row.lead_id, row.type) for row in rows]


def _per_lead(pairs: list[tuple[str, str | None]]) -> dict[str | None, list[str]]:
    out: dict[str | None, list[str]] = {}
    for event_id, lead_id in pairs:
        out.setdefault(lead_id, []).append(event_id)
    return out


def _statuses(n: Nudge) -> list[tuple[str, int]]:
    with transaction(n.runtime.sessions) as session:
        rows = session.execute(
            sa.select(EventDelivery.status, EventDelivery.attempts).order_by(EventDelivery.event_seq)
        )
        return [(row.status, row.attempts) for row in rows]


def test_a_standardwebhooks_receiver_verifies_every_event_type(tmp_path: Path) -> None:
    """Sample leads run through the real system on the virtual clock (a hot buyer, one who opts
    out, one who buys after the value offer; the first send fails at Twilio), a rep claims and
    wins the handoff over the API: every one of the nine event types reaches the receiver and
    verifies with the library, in log order per lead, once."""
    with (
        nudge(f"sqlite:///{tmp_path / 'nudge.db'}", tmp_path, DEFAULT_START) as n,
        WebhookReceiver(now=n.clock.now) as receiver,
    ):
        receiver.secrets = [n.endpoint(receiver.url)["secret"]]
        sim = Simulation(n.runtime, n.clock, random.Random(3))
        n.twilio.fail_next(63016)  # the first WhatsApp send fails: message.failed, then the next channel
        for name in ("hot_buyer", "opts_out", "converts"):
            sim.add_lead(PERSONAS[name], n.business_id, DEFAULT_START)
        sim.run_until(DEFAULT_START + timedelta(days=10))
        with transaction(n.runtime.sessions) as session:
            handoff_id = session.scalars(sa.select(Handoff.id)).one()
        path = f"/v1/handoffs/{handoff_id}"
        rep_id = n.client.get("/v1/reps", headers=n.auth).json()["reps"][0]["id"]
        assert n.client.post(f"{path}/claim", headers=n.auth, json={"rep_id": rep_id}).status_code == 200
        won = {"outcome": "won", "value": 900, "currency": "USD"}
        assert n.client.post(f"{path}/resolve", headers=n.auth, json=won).status_code == 200
        while n.tick():
            pass
        logged = _logged(n)
        assert receiver.refused == [] and receiver.duplicates == []
        assert sorted({a.type for a in receiver.accepted}) == sorted(EVENT_TYPES)
        assert [a.id for a in receiver.accepted if a.type == "message.failed"], "the failed send was reported"
        assert {a.id for a in receiver.accepted} == {event_id for event_id, _, _ in logged}
        # In order per lead: each lead's events arrive in the order they were logged.
        assert _per_lead([(a.id, a.lead_id) for a in receiver.accepted]) == _per_lead(
            [(event_id, lead_id) for event_id, lead_id, _ in logged]
        )
        assert all(status == "delivered" for status, _ in _statuses(n))


def test_a_receiver_down_for_an_hour_gets_everything_in_order_once(database_url: str, tmp_path: Path) -> None:
    with (
        nudge(database_url, tmp_path, DEFAULT_START) as n,
        WebhookReceiver(now=n.clock.now) as receiver,
    ):
        receiver.secrets = [n.endpoint(receiver.url)["secret"]]
        receiver.down()
        leads = [n.lead(f"lead{i}@example.com") for i in range(3)]
        n.runtime.dispatcher.run_due()  # touch 1: message.sent and lead.stage_changed for each
        n.tick()
        went_down, signalled = n.clock.now(), False
        while n.clock.now() < went_down + timedelta(hours=1):
            if n.clock.now() >= went_down + timedelta(minutes=30) and not signalled:
                answer = n.client.post(f"/v1/leads/{leads[0]}/events", headers=n.auth, json={"type": "lost"})
                assert answer.status_code == 202
                n.runtime.dispatcher.run_due()  # the signal's run: lead.stage_changed while still down
                signalled = True
            n.clock.advance(timedelta(minutes=5))
            n.tick()
        assert receiver.requests == 0
        statuses = _statuses(n)
        assert all(status == "pending" for status, _ in statuses)
        tried = [attempts for _, attempts in statuses if attempts]
        # Only a lead's first event is tried while it fails (the later ones wait their turn), and
        # an endpoint that failed is not tried again in the same tick.
        assert 1 <= len(tried) <= len(leads) and sum(tried) >= 6, statuses
        receiver.up()
        deadline = n.clock.now() + timedelta(hours=2)
        while any(status != "delivered" for status, _ in _statuses(n)) and n.clock.now() < deadline:
            n.clock.advance(timedelta(minutes=5))
            n.tick()
        logged = _logged(n)
        assert len(logged) >= 3 * len(leads) + 1
        assert receiver.refused == [] and receiver.duplicates == []
        assert sorted(a.id for a in receiver.accepted) == sorted(event_id for event_id, _, _ in logged)
        assert _per_lead([(a.id, a.lead_id) for a in receiver.accepted]) == _per_lead(
            [(event_id, lead_id) for event_id, lead_id, _ in logged]
        )
        # The delivery log tells the same story.
        endpoint_id = n.client.get("/v1/webhook-endpoints", headers=n.auth).json()["endpoints"][0]["id"]
        log = n.client.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries", headers=n.auth).json()["deliveries"]
        assert {d["status"] for d in log} == {"delivered"} and max(d["attempts"] for d in log) >= 6
        assert {d["event_id"] for d in log} == {a.id for a in receiver.accepted}


def test_a_day_of_failures_dead_letters_then_the_api_replays_it(tmp_path: Path) -> None:
    with (
        nudge(f"sqlite:///{tmp_path / 'nudge.db'}", tmp_path, DEFAULT_START) as n,
        WebhookReceiver(now=n.clock.now) as receiver,
    ):
        endpoint = n.endpoint(receiver.url, events=["lead.created", "lead.stage_changed"])
        receiver.secrets = [endpoint["secret"]]
        receiver.down()
        lead_id = n.lead("late@example.com")
        start = n.clock.now()
        while n.clock.now() < start + timedelta(hours=25):
            n.clock.advance(timedelta(minutes=20))
            n.tick()
        log_path = f"/v1/webhook-endpoints/{endpoint['id']}/deliveries"
        dead = n.client.get(log_path, headers=n.auth, params={"status": "dead"}).json()["deliveries"]
        assert [(d["event_type"], d["lead_id"]) for d in dead] == [("lead.created", lead_id)]
        assert "unreachable" in dead[0]["last_error"] and dead[0]["attempts"] >= 8
        # A dead delivery no longer holds the lead's later events back; message.sent is filtered out.
        receiver.up()
        n.runtime.dispatcher.run_due()
        n.tick()
        assert receiver.types() == ["lead.stage_changed"]
        replay = {"since": (start - timedelta(minutes=1)).isoformat()}
        answer = n.client.post(f"/v1/webhook-endpoints/{endpoint['id']}/replay", headers=n.auth, json=replay)
        assert answer.status_code == 202 and answer.json() == {"replayed": 1}
        n.tick()
        assert receiver.types() == ["lead.stage_changed", "lead.created"]
        assert receiver.accepted[1].id == dead[0]["event_id"], "replayed with its original webhook-id"
        naive = n.client.post(
            f"/v1/webhook-endpoints/{endpoint['id']}/replay", headers=n.auth, json={"since": "2026-01-01T00:00:00"}
        )
        assert naive.status_code == 422 and "since" in naive.json()["error"]["message"]


def test_the_real_library_verifies_and_a_rotation_signs_with_both_secrets(tmp_path: Path) -> None:
    """On today's date, the library's own timestamp check (wall clock) passes; during a rotation's
    overlap both the old and the new secret verify; after it, only the new one."""
    start = datetime.now(UTC).replace(microsecond=0)
    with (
        nudge(f"sqlite:///{tmp_path / 'nudge.db'}", tmp_path, start) as n,
        WebhookReceiver() as receiver,  # the library's own clock
    ):
        endpoint = n.endpoint(receiver.url, events=["lead.created"])
        old = endpoint["secret"]
        receiver.secrets = [old]
        n.lead("first@example.com")
        n.tick()
        first = receiver.accepted[0]
        assert Webhook(old).verify(first.body, first.headers)["type"] == "lead.created"
        rotate = f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret"
        rotated = n.client.post(rotate, headers=n.auth, json={"overlap_seconds": 3600})
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        listed = n.client.get("/v1/webhook-endpoints", headers=n.auth).text
        assert new != old and new not in listed and old not in listed, "a secret is shown once"
        assert first.payload["data"]["lead"]["email"] == "first@example.com"
        receiver.secrets = [old]  # a receiver not yet switched still verifies…
        n.lead("second@example.com")
        n.tick()
        receiver.secrets = [new]  # …and one already switched does too
        n.lead("third@example.com")
        n.tick()
        assert receiver.refused == [] and len(receiver.accepted) == 3
        assert len(receiver.accepted[2].headers["webhook-signature"].split(" ")) == 2
        n.clock.advance(timedelta(hours=1, seconds=1))  # the overlap is over: only the new secret signs
        with WebhookReceiver(now=n.clock.now) as late:
            late.secrets = [old]
            moved = n.client.patch(f"/v1/webhook-endpoints/{endpoint['id']}", headers=n.auth, json={"url": late.url})
            assert moved.status_code == 200, moved.text
            n.lead("fourth@example.com")
            n.tick()
            assert late.accepted == [] and len(late.refused) == 1
            assert len(late.signatures[0].split(" ")) == 1
            late.secrets = [new]
            n.clock.advance(timedelta(minutes=5))
            n.tick()
            assert [a.type for a in late.accepted] == ["lead.created"]
        audit = n.client.get("/v1/audit", headers=n.auth).json()["entries"]
        actions = {e["action"] for e in audit}
        assert {"webhook_endpoint.create", "webhook_endpoint.rotate_secret", "webhook_endpoint.update"} <= actions
        assert all(new not in str(e) and old not in str(e) for e in audit), "the audit keeps no secret"


def test_a_worker_that_died_mid_send_is_relieved_and_the_receiver_dedupes(tmp_path: Path) -> None:
    """A worker claimed the delivery, the receiver got it, and the worker died before recording
    that (as after SIGKILL): two minutes later another worker sends it again with the same
    `webhook-id`, and the receiver's deduplication keeps it once."""
    with (
        nudge(f"sqlite:///{tmp_path / 'nudge.db'}", tmp_path, DEFAULT_START) as n,
        WebhookReceiver(now=n.clock.now) as receiver,
    ):
        receiver.secrets = [n.endpoint(receiver.url, events=["lead.created"])["secret"]]
        n.lead("crash@example.com")
        events = n.runtime.events
        (job,) = events._claim(10)  # the dying worker: claimed (committed `sending`)…
        events._subscriber(job).deliver(job.event, n.clock.now())  # …sent, and never recorded
        assert n.tick() == 0, "a live worker's send is not taken over"
        n.clock.advance(timedelta(minutes=3))
        assert n.tick() == 1
        assert [a.id for a in receiver.accepted] == [job.event.id] and receiver.duplicates == [job.event.id]
        assert _statuses(n) == [("delivered", 2)]


def test_private_urls_are_refused_when_saved_and_when_called(tmp_path: Path) -> None:
    """The webhook-target rules: a private URL is a 422 naming `url` (nothing stored); one that got
    in while private targets were allowed is refused at send time, dead at once with the reason."""
    with nudge(f"sqlite:///{tmp_path / 'nudge.db'}", tmp_path, DEFAULT_START, NUDGE_ALLOW_PRIVATE_WEBHOOKS=False) as n:
        for url in ("http://127.0.0.1:8080/hook", "http://169.254.169.254/latest/", "http://[::1]/x"):
            answer = n.client.post("/v1/webhook-endpoints", headers=n.auth, json={"url": url})
            assert answer.status_code == 422 and answer.json()["error"]["message"].startswith("url: "), answer.text
        for body in ({"url": "ftp://crm.example/x"}, {"url": "https://crm.example/x", "events": ["lead.eaten"]}, {}):
            assert n.client.post("/v1/webhook-endpoints", headers=n.auth, json=body).status_code == 422, body
        assert n.client.get("/v1/webhook-endpoints", headers=n.auth).json()["endpoints"] == []
        assert n.client.get("/v1/webhook-endpoints/whe_nope", headers=n.auth).status_code == 404
        with transaction(n.runtime.sessions) as session:  # saved under an on-premise policy
            session.add(
                WebhookEndpoint(
                    business_id=n.business_id,
                    url="http://127.0.0.1:9/hook",
                    secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                    created_at=n.clock.now(),
                    updated_at=n.clock.now(),
                )
            )
        n.lead("ssrf@example.com")
        assert n.tick() == 0
        with transaction(n.runtime.sessions) as session:
            (delivery,) = session.scalars(sa.select(EventDelivery)).all()
        assert delivery.status == "dead" and delivery.attempts == 1
        assert delivery.last_error is not None and "127.0.0.1 is a loopback address" in delivery.last_error
