"""A small world for the console's tests: an agency with two client businesses, reps and keys,
a lead whose name is markup, handoffs, and a signed-in browser-like HTTP client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from agent import rep_links
from nudge.db import transaction
from nudge.models import Handoff, Rep
from nudge.tenants import create_agency, create_business
from tests.conftest import LiveNudge, live_nudge, postgres_schema

XSS_NAME = "<img src=x onerror=alert(1)>"


@dataclass
class Client:
    """One business of the world, with what it owns."""

    business_id: str
    key: str
    rep_id: str
    rep_key: str
    other_rep_id: str
    lead_id: str
    handoff_id: str  # open, routed to rep_id
    other_handoff_id: str  # open, routed to other_rep_id
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    live: LiveNudge
    agency_key: str
    other_agency_key: str
    a: Client
    b: Client
    foreign_business_id: str  # the other agency's business

    def browser(self) -> httpx.Client:
        return httpx.Client(base_url=self.live.url, follow_redirects=False, timeout=10)

    def sign_in(self, key: str) -> httpx.Client:
        client = self.browser()
        answer = sign_in(client, key)
        assert answer.status_code == 303, answer.text[:500]
        return client

    def handoff(self, business_id: str, lead_id: str, rep_id: str) -> str:
        runtime = self.live.runtime
        with transaction(runtime.sessions) as session:
            handoff = Handoff(
                business_id=business_id,
                lead_id=lead_id,
                assigned_rep_id=rep_id,
                summary={"name": "Hot lead", "industry": "dental", "score": 88, "reasons": ["asked for a price"]},
                created_at=runtime.clock.now(),
                sla_due_at=runtime.clock.now(),
            )
            session.add(handoff)
            session.flush()
            return handoff.id

    def link(self, client: Client, handoff_id: str, rep_id: str) -> str:
        runtime = self.live.runtime
        with transaction(runtime.sessions) as session:
            return rep_links.issue(
                session,
                business_id=client.business_id,
                rep_id=rep_id,
                handoff_id=handoff_id,
                now=runtime.clock.now(),
                public_url=self.live.url,
            )

    def handoff_status(self, handoff_id: str) -> str:
        with transaction(self.live.runtime.sessions) as session:
            return str(session.scalar(sa.select(Handoff.status).where(Handoff.id == handoff_id)))


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def sign_in(client: httpx.Client, key: str) -> httpx.Response:
    form = client.get("/console/sign-in")
    assert form.status_code == 200
    return client.post("/console/sign-in", data={"key": key, "csrf": csrf_of(form.text)})


def _client(live: LiveNudge, agency_id: str, name: str, phone_suffix: int, lead_name: str) -> Client:
    runtime = live.runtime
    with transaction(runtime.sessions) as session:
        created = create_business(
            session,
            name=name,
            now=runtime.clock.now(),
            agency_id=agency_id,
            fields={
                "whatsapp_from": f"+1415555{phone_suffix:04d}",
                "sms_from": f"+1415556{phone_suffix:04d}",
                "email_from": f"team{phone_suffix}@business.io",
            },
        )
        business_id, key = created.business.id, created.api_key
    headers = live.auth(key)
    reps = []
    for n in (1, 2):
        answer = live.client.post("/v1/reps", headers=headers, json={"name": f"{name} Rep {n}", "email": f"r{n}@x.io"})
        assert answer.status_code == 201, answer.text
        reps.append(answer.json()["id"])
    rep_key = live.client.post("/v1/keys", headers=headers, json={"kind": "rep", "rep_id": reps[0]}).json()["api_key"]
    lead = live.client.post("/v1/leads", headers=headers, json={"name": lead_name, "email": f"{phone_suffix}@lead.io"})
    assert lead.status_code == 201, lead.text
    client = Client(business_id, key, reps[0], rep_key, reps[1], lead.json()["id"], "", "")
    return client


@contextmanager
def console_world(database: str, tmp: Path, **settings: Any) -> Iterator[World]:
    with ExitStack() as stack:
        url = f"sqlite:///{tmp / 'nudge.db'}" if database == "sqlite" else stack.enter_context(postgres_schema())
        live = stack.enter_context(
            live_nudge(url, tmp, twilio=False, workers=False, NUDGE_RATE_LIMIT_PER_SECOND=0, **settings)
        )
        runtime = live.runtime
        with transaction(runtime.sessions) as session:
            agency = create_agency(session, name="Agency", now=runtime.clock.now())
            other = create_agency(session, name="Other agency", now=runtime.clock.now())
            foreign = create_business(session, name="Foreign", now=runtime.clock.now(), agency_id=other.agency.id)
            agency_id, agency_key, other_key, foreign_id = (
                agency.agency.id,
                agency.api_key,
                other.api_key,
                foreign.business.id,
            )
        a = _client(live, agency_id, "Alpha Dental", 1, XSS_NAME)
        b = _client(live, agency_id, "Beta Legal", 2, "Bruno Beta")
        world = World(live, agency_key, other_key, a, b, foreign_id)
        for c in (a, b):
            c.handoff_id = world.handoff(c.business_id, c.lead_id, c.rep_id)
            c.other_handoff_id = world.handoff(c.business_id, c.lead_id, c.other_rep_id)
        with transaction(runtime.sessions) as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(Rep)) == 4
        yield world
