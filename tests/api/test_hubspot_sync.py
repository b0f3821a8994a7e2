"""HubSpot sync (issue #23, item 5), configured over the API, against a local HubSpot-compatible
stand-in that checks the token and the shape of every request: sample leads become contacts with
Nudge's stage, the hot buyer's escalation a note on its contact, the sale a deal; a 429 is
retried after its `Retry-After` and not before; a refused token dead-letters with the reason."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from nudge.cli.demo import DEMO_LEADS
from nudge.db import transaction
from nudge.models import EventDelivery, Lead
from nudge.sim.engine import Simulation
from nudge.sim.setup import DEFAULT_START
from tests.support.events_world import Nudge, nudge
from tests.support.hubspot_stub import HubSpotStub

PERSONAS = {p.name: p for p in DEMO_LEADS}
TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[tuple[Nudge, HubSpotStub]]:
    with (
        HubSpotStub(token=TOKEN) as stub,
        nudge(f"sqlite:///{tmp_path / 'nudge.db'}", tmp_path, DEFAULT_START, NUDGE_HUBSPOT_API_URL=stub.url) as n,
    ):
        answer = n.client.put("/v1/connectors/hubspot", headers=n.auth, json={"token": TOKEN, "pipeline": "sales"})
        assert answer.status_code == 200, answer.text
        shown = answer.json()
        assert TOKEN not in answer.text and shown["token_hint"].endswith(TOKEN[-4:])
        assert shown["events"] == ["lead.created", "lead.stage_changed", "lead.escalated", "lead.converted"]
        yield n, stub


def _drain(n: Nudge) -> None:
    while n.tick():
        pass


def test_contacts_notes_and_deals_reach_hubspot_in_its_shapes(crm: tuple[Nudge, HubSpotStub]) -> None:
    n, stub = crm
    sim = Simulation(n.runtime, n.clock, random.Random(3))
    for name in ("hot_buyer", "converts"):
        sim.add_lead(PERSONAS[name], n.business_id, DEFAULT_START)
    sim.run_until(DEFAULT_START + timedelta(days=10))
    _drain(n)
    refused = [c for c in stub.calls if c.status >= 300]
    assert refused == [], refused
    with transaction(n.runtime.sessions) as session:
        leads = {lead.name: lead for lead in session.scalars(sa.select(Lead))}
        dead = session.scalars(sa.select(EventDelivery).where(EventDelivery.status != "delivered")).all()
    assert dead == []
    hot, buyer = leads["Marcus Lee"], leads["Priya Shah"]
    contacts = {c.properties.get("phone") or c.properties.get("email"): c for c in stub.records("contacts")}
    assert len(contacts) == 2, "one contact per lead, updated in place"
    hot_contact = contacts[hot.phone]
    buyer_contact = next(c for c in stub.records("contacts") if c.properties.get("email") == buyer.email)
    # Nudge's stage follows the lead.
    assert hot_contact.properties["nudge_stage"] == "escalated"
    assert buyer_contact.properties["nudge_stage"] == "won"
    assert buyer_contact.properties["firstname"] == "Priya" and buyer_contact.properties["lastname"] == "Shah"
    # The escalation: a note on the hot buyer's contact with the conversation summary.
    (note,) = stub.records("notes")
    assert note.associations == [
        {"to": {"id": hot_contact.id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}]}
    ]
    assert "I want to book a demo today" in note.properties["hs_note_body"]
    # The sale: a deal in the configured pipeline, associated with the buyer's contact.
    (deal,) = stub.records("deals")
    assert deal.properties["pipeline"] == "sales" and deal.properties["dealstage"] == "closedwon"
    assert deal.properties["nudge_lead_id"] == buyer.id
    assert deal.associations[0]["to"] == {"id": buyer_contact.id}
    assert deal.associations[0]["types"][0]["associationTypeId"] == 3
    # The calls: contacts found by email or phone before they are created or updated.
    paths = [(c.method, c.path) for c in stub.successful()]
    assert ("POST", "/crm/v3/objects/contacts/search") in paths
    assert paths.count(("POST", "/crm/v3/objects/contacts")) == 2
    assert ("PATCH", f"/crm/v3/objects/contacts/{buyer_contact.id}") in paths
    assert ("POST", "/crm/v3/objects/deals/search") in paths


def test_a_429_is_retried_after_retry_after_and_not_before(crm: tuple[Nudge, HubSpotStub]) -> None:
    n, stub = crm
    stub.throttle_next(1, retry_after="7")
    n.lead("dana@clinic.example")
    assert n.tick() == 0
    assert [c.status for c in stub.calls] == [429]
    with transaction(n.runtime.sessions) as session:
        (delivery,) = session.scalars(sa.select(EventDelivery)).all()
        assert delivery.status == "pending" and delivery.available_at == n.clock.now() + timedelta(seconds=7)
        assert delivery.response_status == 429
    n.clock.advance(timedelta(seconds=6))
    assert n.tick() == 0 and len(stub.calls) == 1, "not before Retry-After"
    n.clock.advance(timedelta(seconds=1))
    assert n.tick() == 1
    (contact,) = stub.records("contacts")
    assert contact.properties == {
        "email": "dana@clinic.example",
        "firstname": "Ana",
        "lastname": "Lima",
        "nudge_stage": "new",
    }


def test_a_refused_token_dead_letters_with_the_reason_and_bad_config_is_a_422(
    crm: tuple[Nudge, HubSpotStub],
) -> None:
    n, _ = crm
    assert n.client.put("/v1/connectors/hubspot", headers=n.auth, json={"token": "pat-na1-revoked"}).status_code == 200
    n.lead("eve@clinic.example")
    n.tick()
    with transaction(n.runtime.sessions) as session:
        (delivery,) = session.scalars(sa.select(EventDelivery)).all()
    assert delivery.status == "dead" and delivery.last_error == "HubSpot refused the token (401)"
    for body in ({"token": "short"}, {"token": TOKEN, "extra": 1}, {"token": "has spaces in it"}, {}):
        answer = n.client.put("/v1/connectors/hubspot", headers=n.auth, json=body)
        assert answer.status_code == 422, (body, answer.text)
    listed = n.client.get("/v1/connectors", headers=n.auth).json()["connectors"]
    assert [c["kind"] for c in listed] == ["hubspot"] and listed[0]["token_hint"].endswith("oked")
    assert n.client.delete("/v1/connectors/hubspot", headers=n.auth).status_code == 204
    assert n.client.get("/v1/connectors", headers=n.auth).json()["connectors"] == []
