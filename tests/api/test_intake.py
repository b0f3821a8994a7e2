"""Lead intake end to end over real HTTP: Twilio webhooks, form leads, tenancy, bad input."""

from __future__ import annotations

import time

import sqlalchemy as sa

from nudge.models import Lead, LeadEvent, Message, Outbox
from nudge.sim.sample import whatsapp_templates
from tests.conftest import LiveNudge
from tests.support.twilio_stub import DEFAULT_AUTH_TOKEN, inbound_params, post_inbound
from tests.support.workers import wait_until

WA_NUMBER = "+14155550100"
SMS_NUMBER = "+14155550101"
LEAD_PHONE = "+5511987650001"


def _business(
    live: LiveNudge, name: str = "Acme Growth", wa: str = WA_NUMBER, sms: str = SMS_NUMBER
) -> tuple[str, str]:
    return live.business(
        name,
        whatsapp_from=wa,
        sms_from=sms,
        email_from="Acme <hi@acme.example>",
        whatsapp_templates=whatsapp_templates(name),
    )


def _count(live: LiveNudge, model: type[object]) -> int:
    with live.runtime.sessions() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_signed_whatsapp_message_gets_a_reply_within_a_second(live_any_db: LiveNudge) -> None:
    live = live_any_db
    _business(live)
    assert live.twilio is not None
    params = inbound_params(f"whatsapp:{LEAD_PHONE}", f"whatsapp:{WA_NUMBER}", "Oi, quanto custa o plano anual?")
    started = time.monotonic()
    response = post_inbound(f"{live.url}/webhooks/twilio/inbound", params, DEFAULT_AUTH_TOKEN)
    assert response.status_code == 200
    assert "<Response></Response>" in response.text
    reply = live.twilio.wait_for_message(lambda m: m["to"] == f"whatsapp:{LEAD_PHONE}", timeout=1.0)
    assert reply["received_at"] - started < 1.0
    assert reply["from"] == f"whatsapp:{WA_NUMBER}"
    assert reply["content_sid"] is None, "inside the 24-hour window touch 1 is free text"
    assert "João" not in reply["body"] and reply["body"].strip()
    assert any(word in reply["body"].lower() for word in ("obrigad", "oi", "olá")), "answered in Portuguese"
    assert reply["status_callback"] == f"{live.url}/webhooks/twilio/status"
    # The provider's answer is recorded on the transcript row the run queued.
    wait_until(lambda: _sent_with_provider_id(live, reply["sid"]), 5.0, what="the send recorded as sent")


def _sent_with_provider_id(live: LiveNudge, sid: str) -> bool:
    with live.runtime.sessions() as session:
        row = session.execute(
            sa.select(Message.status, Outbox.status)
            .join(Outbox, Outbox.message_id == Message.id)
            .where(Message.provider_id == sid)
        ).first()
    return row is not None and row[1] == "sent" and row[0] in ("sent", "delivered", "read")


def test_forged_signature_is_refused_and_nothing_is_stored(live: LiveNudge) -> None:
    _business(live)
    params = inbound_params(f"whatsapp:{LEAD_PHONE}", f"whatsapp:{WA_NUMBER}", "hello")
    response = post_inbound(f"{live.url}/webhooks/twilio/inbound", params, DEFAULT_AUTH_TOKEN, forge=True)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "bad_signature"
    unsigned = live.client.post("/webhooks/twilio/inbound", data=params)
    assert unsigned.status_code == 403
    assert _count(live, Message) == 0 and _count(live, Lead) == 0 and _count(live, LeadEvent) == 0


def test_a_retried_webhook_gives_one_message_and_one_reply(live: LiveNudge) -> None:
    _business(live)
    assert live.twilio is not None
    params = inbound_params(f"whatsapp:{LEAD_PHONE}", f"whatsapp:{WA_NUMBER}", "Hi, how much is it?")
    for _ in range(3):
        assert post_inbound(f"{live.url}/webhooks/twilio/inbound", params, DEFAULT_AUTH_TOKEN).status_code == 200
    live.twilio.wait_for(1, timeout=2)
    time.sleep(0.5)  # give a wrongly duplicated run time to show up
    replies = [m for m in live.twilio.messages if m["to"] == f"whatsapp:{LEAD_PHONE}"]
    assert len(replies) == 1
    with live.runtime.sessions() as session:
        inbound = session.scalars(sa.select(Message).where(Message.direction == "in")).all()
    assert len(inbound) == 1 and inbound[0].provider_id == params["MessageSid"]


def test_sms_message_is_answered_by_sms(live: LiveNudge) -> None:
    _business(live)
    assert live.twilio is not None
    params = inbound_params(LEAD_PHONE, SMS_NUMBER, "Hello, I need a quote for my gym", channel="sms")
    assert post_inbound(f"{live.url}/webhooks/twilio/inbound", params, DEFAULT_AUTH_TOKEN).status_code == 200
    reply = live.twilio.wait_for_message(lambda m: m["to"] == LEAD_PHONE, timeout=2)
    assert reply["channel"] == "sms" and reply["from"] == SMS_NUMBER
    assert reply["num_segments"] <= 2


def test_form_lead_gets_touch_one_as_an_approved_whatsapp_template(live_any_db: LiveNudge) -> None:
    live = live_any_db
    _, key = _business(live)
    assert live.twilio is not None
    response = live.client.post(
        "/v1/leads",
        headers=live.auth(key),
        json={
            "name": "Dana Reyes",
            "phone": "+1 (212) 555-0188",
            "email": "dana@example.com",
            "source": "web_form",
            "message": "I'd like pricing for our three dental clinics",
            "consent": {"whatsapp": True},
        },
    )
    assert response.status_code == 201, response.text
    lead = response.json()
    assert lead["phone"] == "+12125550188" and lead["stage"] in ("new", "contacted")
    sent = live.twilio.wait_for_message(lambda m: m["to"] == "whatsapp:+12125550188", timeout=2)
    assert sent["content_sid"] and sent["content_sid"].startswith("HX"), "no open window: a template"
    assert sent["content_variables"] == {"1": "Dana", "2": "Acme Growth"}
    assert "Body" not in sent["params"]
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        transcript = live.client.get(f"/v1/leads/{lead['id']}/messages", headers=live.auth(key)).json()
        if transcript["messages"] and transcript["messages"][0]["status"] == "sent":
            break
        time.sleep(0.05)
    first = transcript["messages"][0]
    assert first["touch"] == 1 and first["channel"] == "whatsapp" and "Dana" in first["text"]
    state = live.client.get(f"/v1/leads/{lead['id']}", headers=live.auth(key)).json()
    assert state["stage"] == "contacted" and state["next_touch"]["number"] == 2
    again = live.client.post("/v1/leads", headers=live.auth(key), json={"email": "DANA@EXAMPLE.COM".lower()})
    assert again.status_code == 200 and again.json()["id"] == lead["id"]


def test_a_business_cannot_see_another_business_lead(live: LiveNudge) -> None:
    _, key_a = _business(live, "Alpha", "+14155550100", "+14155550101")
    _, key_b = _business(live, "Beta", "+14155550200", "+14155550201")
    created = live.client.post("/v1/leads", headers=live.auth(key_a), json={"email": "lead@example.com"})
    lead_id = created.json()["id"]
    assert live.client.get(f"/v1/leads/{lead_id}", headers=live.auth(key_a)).status_code == 200
    for path in (f"/v1/leads/{lead_id}", f"/v1/leads/{lead_id}/messages"):
        foreign = live.client.get(path, headers=live.auth(key_b))
        assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "not_found"
    signal = live.client.post(f"/v1/leads/{lead_id}/events", headers=live.auth(key_b), json={"type": "converted"})
    assert signal.status_code == 404
    # The same email at another business is another lead, not a duplicate.
    other = live.client.post("/v1/leads", headers=live.auth(key_b), json={"email": "lead@example.com"})
    assert other.status_code == 201 and other.json()["id"] != lead_id


def test_bad_webhook_input_gets_clear_4xx(live: LiveNudge) -> None:
    _business(live)
    url = f"{live.url}/webhooks/twilio/inbound"
    missing = {
        k: v for k, v in inbound_params(f"whatsapp:{LEAD_PHONE}", f"whatsapp:{WA_NUMBER}", "x").items() if k != "From"
    }
    response = post_inbound(url, missing, DEFAULT_AUTH_TOKEN)
    assert response.status_code == 400 and "From" in response.json()["error"]["message"]
    unknown = inbound_params(f"whatsapp:{LEAD_PHONE}", "whatsapp:+14155559999", "hi")
    response = post_inbound(url, unknown, DEFAULT_AUTH_TOKEN)
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_number"
    response = live.client.post("/webhooks/twilio/inbound", json={"From": "x"})
    assert response.status_code == 415
    huge = live.client.post(
        "/webhooks/twilio/inbound",
        content=b"Body=" + b"a" * (6 * 1024 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "too_large"
    assert _count(live, Message) == 0


def test_bad_lead_input_names_the_field(live: LiveNudge) -> None:
    _, key = _business(live)
    assert live.client.post("/v1/leads", json={"email": "a@b.co"}).status_code == 401
    bad_key = live.client.post("/v1/leads", headers=live.auth("nk_bz_0000_nope"), json={"email": "a@b.co"})
    assert bad_key.status_code == 401
    cases = [
        ({"name": "No contact"}, "phone or an email"),
        ({"phone": "call me"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        # phonenumbers reads letters as keypad digits: this would be stored as +14155552223.
        ({"phone": "+1415555ABCD"}, "phone"),
        ({"email": "dana\x07@example.com"}, "email"),
        ({"email": "dana@exam\u200bple.com"}, "email"),
        ({"email": "d" * 65 + "@example.com"}, "email"),
        ({"email": "a@b.co", "timezone": "Mars/Olympus"}, "timezone"),
        ({"email": "a@b.co", "colour": "blue"}, "colour"),
        ({"email": "a@b.co", "locale": "fr"}, "locale"),
    ]
    for body, needle in cases:
        response = live.client.post("/v1/leads", headers=live.auth(key), json=body)
        assert response.status_code == 422, body
        assert needle in response.json()["error"]["message"], response.json()
    broken = live.client.post(
        "/v1/leads", headers={**live.auth(key), "Content-Type": "application/json"}, content=b"{not json"
    )
    assert broken.status_code == 422
    assert _count(live, Lead) == 0


def test_health_and_metrics(live: LiveNudge) -> None:
    health = live.client.get("/healthz")
    assert health.status_code == 200 and health.json()["database"] == "ok"
    metrics = live.client.get("/metrics")
    assert metrics.status_code == 200 and "nudge_graph_runs_total" in metrics.text
