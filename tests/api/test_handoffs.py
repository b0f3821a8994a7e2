"""Escalation to sales reps over real HTTP: notification, claim race, reply, resolve, SLA."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nudge.db import transaction
from nudge.models import Conversion, Handoff, Lead, LeadActivity, Notification
from nudge.sim.engine import Simulation
from nudge.sim.personas import Persona
from nudge.sim.sample import whatsapp_templates
from nudge.sim.setup import create_sample_businesses, simulation_runtime
from scheduler import mailbox
from tests.conftest import LiveNudge, live_nudge
from tests.support.server_thread import ServerThread
from tests.support.twilio_stub import DEFAULT_AUTH_TOKEN, inbound_params, post_inbound

WA = "+14155550100"
LEAD = "+5511987650002"


class Inbox:
    """A rep's webhook endpoint (Slack-compatible JSON arrives here)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self._cond = threading.Condition()

    async def receive(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self._cond:
            self.posts.append(body)
            self._cond.notify_all()
        return JSONResponse({"ok": True})

    def wait(self, count: int, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.posts) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} webhook posts, got {len(self.posts)}")
                self._cond.wait(left)
            return list(self.posts)


@pytest.fixture
def rep_inbox() -> Iterator[tuple[Inbox, str]]:
    inbox = Inbox()
    with ServerThread(Starlette(routes=[Route("/hook", inbox.receive, methods=["POST"])]), name="rep-hook") as srv:
        yield inbox, f"{srv.url}/hook"


def _setup(live: LiveNudge, hook: str) -> tuple[str, str, str]:
    _, key = live.business(
        "Acme",
        whatsapp_from=WA,
        sms_from="+14155550101",
        email_from="Acme <hi@acme.example>",
        whatsapp_templates=whatsapp_templates("acme"),
    )
    rep = live.client.post(
        "/v1/reps", headers=live.auth(key), json={"name": "Rita Rep", "webhook_url": hook, "industries": ["dental"]}
    )
    assert rep.status_code == 201, rep.text
    other = live.client.post(
        "/v1/reps", headers=live.auth(key), json={"name": "Otto", "email": "otto@acme.example", "webhook_url": hook}
    )
    return key, rep.json()["id"], other.json()["id"]


def _say(live: LiveNudge, text: str) -> None:
    params = inbound_params(f"whatsapp:{LEAD}", f"whatsapp:{WA}", text)
    assert post_inbound(f"{live.url}/webhooks/twilio/inbound", params, DEFAULT_AUTH_TOKEN).status_code == 200


def _open_handoff(live: LiveNudge, key: str, timeout: float = 3.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = live.client.get("/v1/handoffs?status=open", headers=live.auth(key)).json()["handoffs"]
        if found:
            return dict(found[0])
        time.sleep(0.05)
    raise AssertionError("no open handoff")


def test_hot_lead_reaches_a_rep_within_two_seconds_with_a_usable_summary(
    live: LiveNudge, rep_inbox: tuple[Inbox, str]
) -> None:
    inbox, hook = rep_inbox
    key, rep_id, _ = _setup(live, hook)
    started = time.monotonic()
    _say(live, "I want to book a demo today for my dental clinic, budget approved")
    post = inbox.wait(1, timeout=2.0)[0]
    assert time.monotonic() - started < 2.0
    assert "New hot lead" in post["text"] and post["summary"]["phone"] == LEAD
    summary = post["summary"]
    assert summary["score"] >= 60 and summary["reasons"] and summary["next_step"]
    assert summary["timeline"] == "today" and summary["budget"] == "approved"
    assert summary["last_messages"][0]["text"].startswith("I want to book a demo")
    handoff = _open_handoff(live, key)
    assert handoff["assigned_rep_id"] == rep_id, "the dental specialist gets the dental lead"
    assert live.twilio is not None
    texts = [m["body"] for m in live.twilio.wait_for(2, timeout=2)]
    assert any("Rita" in t or "person" in t.lower() or "team" in t.lower() for t in texts[1:]), texts


def test_researching_lead_gets_no_handoff_and_the_cadence_goes_on(
    live: LiveNudge, rep_inbox: tuple[Inbox, str]
) -> None:
    _, hook = rep_inbox
    key, _, _ = _setup(live, hook)
    _say(live, "Hi, just looking at options for next year, what do you offer?")
    assert live.twilio is not None
    live.twilio.wait_for(1, timeout=2)
    time.sleep(0.3)
    assert live.client.get("/v1/handoffs", headers=live.auth(key)).json()["handoffs"] == []
    with live.runtime.sessions() as session:
        lead = session.scalars(sa.select(Lead)).one()
    assert lead.stage != "escalated" and lead.next_touch is not None


def test_claim_race_reply_silence_and_resolution(live: LiveNudge, rep_inbox: tuple[Inbox, str]) -> None:
    inbox, hook = rep_inbox
    key, rep_id, other_id = _setup(live, hook)
    _say(live, "We need this now, can someone call me today? Budget is approved")
    handoff = _open_handoff(live, key)
    assert live.twilio is not None
    before = len(live.twilio.wait_for(2, timeout=2))

    def claim(rep: str) -> int:
        return live.client.post(
            f"/v1/handoffs/{handoff['id']}/claim", headers=live.auth(key), json={"rep_id": rep}
        ).status_code

    with ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(claim, [rep_id, other_id]))
    assert codes == [200, 409]

    # The lead writes while a person has the lead: it goes to the rep, the bot stays quiet.
    _say(live, "Also, do you work on Saturdays?")
    forwarded = inbox.wait(2, timeout=3)
    assert "Saturdays" in forwarded[-1]["text"]
    time.sleep(0.3)
    assert len(live.twilio.messages) == before, "the bot sent something while the handoff was open"

    reply = live.client.post(
        f"/v1/handoffs/{handoff['id']}/reply",
        headers=live.auth(key),
        json={"rep_id": rep_id, "text": "Hi! Rita here, calling you in 5 minutes."},
    )
    assert reply.status_code == 202
    sent = live.twilio.wait_for_message(lambda m: "Rita here" in m["body"], timeout=2)
    assert sent["to"] == f"whatsapp:{LEAD}" and sent["from"] == f"whatsapp:{WA}"

    resolved = live.client.post(
        f"/v1/handoffs/{handoff['id']}/resolve",
        headers=live.auth(key),
        json={"outcome": "won", "value": 1200, "currency": "USD"},
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    again = live.client.post(f"/v1/handoffs/{handoff['id']}/resolve", headers=live.auth(key), json={"outcome": "lost"})
    assert again.status_code == 409
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        with live.runtime.sessions() as session:
            conversions = session.scalars(sa.select(LeadActivity).where(LeadActivity.kind == "conversion")).all()
        if conversions:
            break
        time.sleep(0.05)
    assert conversions and conversions[0].detail == "1200.0 USD"
    with live.runtime.sessions() as session:
        ledger = session.scalars(sa.select(Conversion)).all()
    assert [(c.kind, c.source, c.value, c.currency) for c in ledger] == [("won", "rep", 1200.0, "USD")]
    report = live.client.get("/v1/reports/attribution?model=last", headers=live.auth(key)).json()
    assert report["total"] == {"conversions": 1.0, "value": {"USD": 1200.0}}
    lead = live.client.get(f"/v1/leads/{handoff['lead_id']}", headers=live.auth(key)).json()
    assert lead["stage"] == "won" and lead["next_touch"] is None


def test_bad_handoff_input(live: LiveNudge, rep_inbox: tuple[Inbox, str]) -> None:
    _, hook = rep_inbox
    key, rep_id, _ = _setup(live, hook)
    _, other_key = live.business("Other", whatsapp_from="+14155550300")
    foreign_rep = live.client.post(
        "/v1/reps", headers=live.auth(other_key), json={"name": "Foreign", "email": "f@other.example"}
    ).json()["id"]
    assert (
        live.client.post("/v1/handoffs/hof_nope/claim", headers=live.auth(key), json={"rep_id": rep_id}).status_code
        == 404
    )
    _say(live, "Book me a demo today please, budget approved")
    handoff = _open_handoff(live, key)
    url = f"/v1/handoffs/{handoff['id']}"
    assert live.client.post(f"{url}/claim", headers=live.auth(key), json={"rep_id": foreign_rep}).status_code == 404
    assert (
        live.client.post(f"{url}/claim", headers=live.auth(other_key), json={"rep_id": foreign_rep}).status_code == 404
    )
    bad = live.client.post(f"{url}/resolve", headers=live.auth(key), json={"outcome": "maybe"})
    assert bad.status_code == 422 and "outcome" in bad.json()["error"]["message"]
    assert live.client.post("/v1/reps", headers=live.auth(key), json={"name": "No contact"}).status_code == 422
    assert live.client.get("/v1/handoffs?status=weird", headers=live.auth(key)).status_code == 422
    assert live.client.post(f"{url}/resolve", headers=live.auth(key), json={"outcome": "nurture"}).status_code == 200
    assert live.client.post(f"{url}/resolve", headers=live.auth(key), json={"outcome": "won"}).status_code == 409


def test_unclaimed_handoff_is_re_sent_after_the_sla_and_nurture_resumes_the_cadence(tmp_path: Path) -> None:
    with simulation_runtime(tmp_path, seed=5) as (runtime, clock):
        clock.advance(timedelta(hours=2))  # 10:00 in New York: business hours, so the 5-minute SLA runs
        business_id = create_sample_businesses(runtime)[0]  # with two reps: Rita and Omar
        sim = Simulation(runtime, clock, random.Random(5))
        lead = sim.add_lead(
            Persona("hot", "en", "whatsapp", "I want to buy today, budget approved"), business_id, clock.now()
        )
        sim.run_until(clock.now() + timedelta(minutes=1))
        with transaction(runtime.sessions) as session:
            first = session.scalars(sa.select(Notification)).all()
        assert len(first) == 1 and first[0].kind == "email"
        sim.run_until(clock.now() + timedelta(minutes=10))  # past the 5-minute SLA (business hours)
        with transaction(runtime.sessions) as session:
            notes = session.scalars(sa.select(Notification).order_by(Notification.created_at)).all()
            handoff = session.scalars(sa.select(Handoff)).one()
        assert {n.target for n in notes} == {"rita@brightsmile.example", "omar@brightsmile.example"}
        assert "Reminder" in notes[-1].payload["text"] and len(handoff.notified) == 2
        with transaction(runtime.sessions) as session:
            lead_row = session.get(Lead, lead.lead_id)
            assert lead_row is not None and lead_row.stage == "escalated" and lead_row.next_touch is None
            mailbox.enqueue(
                session,
                lead=lead_row,
                kind="handoff_resolved",
                dedupe_key="resolve-1",
                now=clock.now(),
                payload={"handoff_id": handoff.id, "outcome": "nurture"},
            )
        sim.run_until(clock.now() + timedelta(minutes=1))
        with transaction(runtime.sessions) as session:
            lead_row = session.get(Lead, lead.lead_id)
            assert lead_row is not None
            assert lead_row.stage == "nurturing" and lead_row.next_touch is not None


def test_a_rep_webhook_on_a_private_address_is_refused_at_send_time(
    any_database_url: str, tmp_path: Path, rep_inbox: tuple[Inbox, str]
) -> None:
    """Saved while private targets were allowed, the rep's webhook is refused once they are not:
    the notification fails at once with the reason, the rep's other ways still work."""
    inbox, hook = rep_inbox
    with live_nudge(any_database_url, tmp_path, workers=False, NUDGE_ALLOW_PRIVATE_WEBHOOKS=True) as setup:
        key, _, _ = _setup(setup, hook)
    with live_nudge(any_database_url, tmp_path, NUDGE_ALLOW_PRIVATE_WEBHOOKS=False) as live:
        _say(live, "I want to book a demo today for my dental clinic, budget approved")
        _open_handoff(live, key)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with transaction(live.runtime.sessions) as session:
                rows = [
                    (n.kind, n.status, n.attempts, n.last_error)
                    for n in session.scalars(sa.select(Notification).order_by(Notification.kind))
                ]
            if rows and all(status != "pending" and status != "sending" for _, status, _, _ in rows):
                break
            time.sleep(0.05)
    refused = "webhook_url refused: 127.0.0.1 is a loopback address; only public addresses can receive webhooks"
    assert ("webhook", "failed", 1, refused) in rows, rows
    assert inbox.posts == []
