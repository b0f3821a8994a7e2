"""Mexican, Argentine and Brazilian WhatsApp numbers over real HTTP: the signed Twilio webhook
takes the sender as given, replies go back to exactly that address, and the same person written
the other way (a form lead) is the same lead."""

from __future__ import annotations

from typing import NamedTuple

import pytest
import sqlalchemy as sa

from nudge.models import Lead
from nudge.sim.sample import whatsapp_templates
from tests.conftest import LiveNudge
from tests.support.twilio_stub import DEFAULT_AUTH_TOKEN, inbound_params, post_inbound

WA_NUMBER = "+14155550100"


class Quirk(NamedTuple):
    whatsapp: str  # as Twilio gives it
    form: str  # as the lead types it on a form
    form_e164: str


# Two people per country: one fills in the form first, the other writes on WhatsApp first.
QUIRKS = {
    "MX": (
        Quirk("+5215512345678", "+52 55 1234 5678", "+525512345678"),
        Quirk("+5213398765432", "+52 33 9876 5432", "+523398765432"),
    ),
    "AR": (
        Quirk("+5491123456789", "+54 11 2345-6789", "+541123456789"),
        Quirk("+5493514567890", "+54 351 456-7890", "+543514567890"),
    ),
    # WhatsApp accounts older than the ninth digit come without it; the form has it.
    "BR": (
        Quirk("+551187654321", "+55 11 98765-4321", "+5511987654321"),
        Quirk("+552199887766", "+55 21 99988-7766", "+5521999887766"),
    ),
}


def _post_whatsapp(live: LiveNudge, sender: str, body: str) -> None:
    params = inbound_params(f"whatsapp:{sender}", f"whatsapp:{WA_NUMBER}", body)
    response = post_inbound(f"{live.url}/webhooks/twilio/inbound", params, DEFAULT_AUTH_TOKEN)
    assert response.status_code == 200, response.text


def _leads(live: LiveNudge) -> list[Lead]:
    with live.runtime.sessions() as session:
        return list(session.scalars(sa.select(Lead).order_by(Lead.created_at)))


@pytest.mark.parametrize("country", sorted(QUIRKS))
def test_one_lead_per_person_and_replies_to_the_address_given(live_any_db: LiveNudge, country: str) -> None:
    live = live_any_db
    assert live.twilio is not None
    _, key = live.business("Acme", whatsapp_from=WA_NUMBER, whatsapp_templates=whatsapp_templates("Acme"))
    form_first, whatsapp_first = QUIRKS[country]

    created = live.client.post(
        "/v1/leads",
        headers=live.auth(key),
        json={"name": "Ana", "phone": form_first.form, "consent": {"whatsapp": True}},
    )
    assert created.status_code == 201, created.text
    assert created.json()["phone"] == form_first.form_e164
    live.twilio.wait_for_message(lambda m: m["to"] == f"whatsapp:{form_first.form_e164}")  # touch 1
    _post_whatsapp(live, form_first.whatsapp, "Hola, cuánto cuesta?")
    reply = live.twilio.wait_for_message(lambda m: m["to"] == f"whatsapp:{form_first.whatsapp}")
    assert reply["content_sid"] is None, "the lead just wrote: free text inside the window"

    _post_whatsapp(live, whatsapp_first.whatsapp, "Hola, info por favor")
    live.twilio.wait_for_message(lambda m: m["to"] == f"whatsapp:{whatsapp_first.whatsapp}")
    again = live.client.post("/v1/leads", headers=live.auth(key), json={"phone": whatsapp_first.form})
    assert again.status_code == 200, again.text

    leads = _leads(live)
    assert len(leads) == 2, [lead.phone for lead in leads]
    assert again.json()["id"] == leads[1].id and created.json()["id"] == leads[0].id
    assert (leads[0].phone, leads[0].whatsapp_phone) == (form_first.form_e164, form_first.whatsapp)
    assert (leads[1].phone, leads[1].whatsapp_phone) == (whatsapp_first.whatsapp, whatsapp_first.whatsapp)


def test_a_form_may_give_the_whatsapp_form_of_a_mexican_number(live: LiveNudge) -> None:
    _, key = live.business("Acme", whatsapp_from=WA_NUMBER)
    created = live.client.post("/v1/leads", headers=live.auth(key), json={"phone": "+52 1 55 1234 5678"})
    assert created.status_code == 201, created.text
    assert created.json()["phone"] == "+5215512345678"
    same = live.client.post("/v1/leads", headers=live.auth(key), json={"phone": "+52 55 1234 5678"})
    assert same.status_code == 200 and same.json()["id"] == created.json()["id"]
