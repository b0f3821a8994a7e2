"""/v1/reports over real HTTP: conversions from outside events, attribution, funnel, bad input."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from agent.attribution import MODELS
from nudge.models import Conversion
from tests.conftest import LiveNudge

SMS = "+14155550100"


def _business(live: LiveNudge) -> str:
    return live.business("Acme", sms_from=SMS)[1]


def _new_lead(live: LiveNudge, key: str, phone: str) -> str:
    response = live.client.post(
        "/v1/leads",
        headers=live.auth(key),
        json={
            "name": "Ana Lima",
            "phone": phone,
            "source": "web_form",
            "message": "Hi, I'd like pricing for my clinic",
            "consent": {"sms": True},
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _wait_touch_sent(live: LiveNudge, key: str, lead_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messages = live.client.get(f"/v1/leads/{lead_id}/messages", headers=live.auth(key)).json()["messages"]
        sent = [m for m in messages if m["touch"] == 1 and m["status"] in ("sent", "delivered", "read")]
        if sent:
            return dict(sent[0])
        time.sleep(0.05)
    raise AssertionError(f"touch 1 to {lead_id} was not sent")


def test_a_conversion_event_is_credited_to_the_touch_that_came_before(live_any_db: LiveNudge) -> None:
    live = live_any_db  # SQLite and PostgreSQL: the reports read JSON fields in SQL
    key = _business(live)
    buyer, browser = _new_lead(live, key, "+5511987650010"), _new_lead(live, key, "+5511987650011")
    for lead_id in (buyer, browser):
        _wait_touch_sent(live, key, lead_id)
    event = {"type": "converted", "value": 1200, "currency": "USD", "external_id": "order-1"}
    first = live.client.post(f"/v1/leads/{buyer}/events", headers=live.auth(key), json=event)
    again = live.client.post(f"/v1/leads/{buyer}/events", headers=live.auth(key), json=event)
    assert first.status_code == 202 and again.json()["duplicate"] is True
    with live.runtime.sessions() as session:
        rows = session.scalars(sa.select(Conversion)).all()
    assert [(r.lead_id, r.kind, r.value, r.currency, r.source) for r in rows] == [
        (buyer, "converted", 1200.0, "USD", "api")
    ]

    for model in MODELS:
        response = live.client.get(f"/v1/reports/attribution?model={model}", headers=live.auth(key))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == {"conversions": 1.0, "value": {"USD": 1200.0}}, model
        # One touch before the sale: every model gives it all the credit.
        assert body["by"]["touch"] == [{"key": "1", "conversions": 1.0, "value": {"USD": 1200.0}}], model
        assert body["by"]["channel"][0]["key"] == "sms"
        assert body["journeys"] == 2 and body["unattributed"] == 0

    funnel = live.client.get("/v1/reports/funnel", headers=live.auth(key)).json()
    touch1 = funnel["touches"][0]
    assert touch1["touch"] == 1 and touch1["purpose"] == "instant_reply"
    assert touch1["sent"] == 2 and touch1["converted"] == 1 and touch1["clicked"] == 0


def test_reports_of_one_business_never_include_another(live: LiveNudge) -> None:
    key = _business(live)
    _, other_key = live.business("Other", sms_from="+14155550300")
    lead_id = _new_lead(live, key, "+5511987650020")
    _wait_touch_sent(live, key, lead_id)
    live.client.post(
        f"/v1/leads/{lead_id}/events", headers=live.auth(key), json={"type": "won", "value": 5, "currency": "EUR"}
    )
    theirs = live.client.get("/v1/reports/attribution?model=linear", headers=live.auth(other_key)).json()
    assert theirs["total"] == {"conversions": 0.0, "value": {}} and theirs["journeys"] == 0
    assert live.client.get("/v1/reports/funnel", headers=live.auth(other_key)).json()["touches"] == []


def test_bad_report_and_conversion_input_is_refused_clearly(live: LiveNudge) -> None:
    key = _business(live)
    lead_id = _new_lead(live, key, "+5511987650030")
    unknown = live.client.get("/v1/reports/attribution?model=u_shaped", headers=live.auth(key))
    assert unknown.status_code == 422
    message = unknown.json()["error"]["message"]
    assert message.startswith("model:") and all(f"'{m}'" in message for m in MODELS), message
    bad_half_life = live.client.get("/v1/reports/attribution?model=time_decay&half_life=soon", headers=live.auth(key))
    assert bad_half_life.status_code == 422 and "half_life" in bad_half_life.json()["error"]["message"]

    nobody = live.client.post(
        "/v1/leads/lead_nope/events", headers=live.auth(key), json={"type": "converted", "value": 10, "currency": "USD"}
    )
    assert nobody.status_code == 404 and nobody.json()["error"]["code"] == "not_found"
    negative = live.client.post(
        f"/v1/leads/{lead_id}/events",
        headers=live.auth(key),
        json={"type": "converted", "value": -5, "currency": "USD"},
    )
    assert negative.status_code == 422 and negative.json()["error"]["message"].startswith("value:")
    no_currency = live.client.post(
        f"/v1/leads/{lead_id}/events", headers=live.auth(key), json={"type": "converted", "value": 5}
    )
    assert no_currency.status_code == 422 and "currency" in no_currency.json()["error"]["message"]
    with live.runtime.sessions() as session:
        assert session.scalars(sa.select(Conversion)).all() == [], "a refused event left a conversion behind"
