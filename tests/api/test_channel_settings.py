"""Per-business channel settings over the API (audiences, consent rules), the WhatsApp template
fallback, tracked links and what erasure tells the audiences."""

from __future__ import annotations

import time

import sqlalchemy as sa

from agent.audiences.hashing import contact_hashes
from agent.links import track
from nudge.db import transaction
from nudge.models import AudienceJob, Lead, LeadEvent, Message, TrackedLink
from tests.conftest import LiveNudge

WA, SMS = "+14155550100", "+14155550101"


def _touch_one(live: LiveNudge, lead_id: str) -> Message:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with live.runtime.sessions() as session:
            message = session.scalars(
                sa.select(Message).where(Message.lead_id == lead_id, Message.touch == 1, Message.sent_at.is_not(None))
            ).first()
            if message is not None:
                session.expunge(message)
                return message
        time.sleep(0.05)
    raise AssertionError("touch 1 was not sent")


def test_without_an_approved_template_whatsapp_is_passed_over_for_sms(live: LiveNudge) -> None:
    _, key = live.business("Acme", whatsapp_from=WA, sms_from=SMS)  # no templates registered
    lead = live.client.post("/v1/leads", headers=live.auth(key), json={"name": "Dana", "phone": "+12125550188"})
    message = _touch_one(live, lead.json()["id"])
    assert message.channel == "sms"
    assert message.info["passed_over"] == [
        "whatsapp: outside the 24-hour window and no approved template for this touch"
    ]
    assert live.twilio is not None and not [m for m in live.twilio.messages if m["channel"] == "whatsapp"]


def test_business_settings_for_audiences_and_required_consent(live: LiveNudge) -> None:
    _, key = live.business("Acme", whatsapp_from=WA, sms_from=SMS, email_from="Acme <hi@acme.example>")
    bad = live.client.patch(
        "/v1/business", headers=live.auth(key), json={"audiences": [{"kind": "webhook", "url": "ftp://x", "name": "a"}]}
    )
    assert bad.status_code == 422 and "audiences" in bad.json()["error"]["message"]
    assert (
        live.client.patch("/v1/business", headers=live.auth(key), json={"consent_required": ["fax"]}).status_code == 422
    )
    settings = {
        "consent_required": ["sms"],
        "audiences": [
            {"kind": "meta", "audience_id": "2385", "access_token": "EAAB-long-token"},
            {"kind": "webhook", "name": "crm", "url": "https://crm.example/hook", "secret": "0123456789abcdef"},
        ],
    }
    updated = live.client.patch("/v1/business", headers=live.auth(key), json=settings)
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["consent_required"] == ["sms"]
    assert body["audiences"][0]["access_token"] == "***" and body["audiences"][1]["secret"] == "***"
    lead = live.client.post(
        "/v1/leads",
        headers=live.auth(key),
        json={"name": "Dana", "phone": "+12125550188", "email": "dana@example.com", "consent": {"email": True}},
    ).json()
    # The email itself cannot leave (no SMTP server here); the decision on the transcript row is what counts.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with live.runtime.sessions() as session:
            chosen = session.scalars(sa.select(Message).where(Message.lead_id == lead["id"])).first()
        if chosen is not None:
            break
        time.sleep(0.05)
    assert chosen is not None and chosen.channel == "email"
    assert "sms: no consent given, and the business requires it" in chosen.info["passed_over"]


def test_tracked_link_records_the_click_and_redirects(live: LiveNudge) -> None:
    _, key = live.business("Acme", sms_from=SMS)
    lead_id = live.client.post("/v1/leads", headers=live.auth(key), json={"phone": "+12125550188"}).json()["id"]
    with transaction(live.runtime.sessions) as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        url = track(
            session,
            lead=lead,
            url="https://acme.example/guide",
            touch=3,
            public_url=live.url,
            now=live.runtime.clock.now(),
        )
    token = url.rsplit("/", 1)[1]
    assert len(token) >= 22, "unguessable"
    for _ in range(2):
        response = live.client.get(f"/r/{token}", follow_redirects=False)
        assert response.status_code == 307 and response.headers["location"] == "https://acme.example/guide"
    with live.runtime.sessions() as session:
        link = session.get(TrackedLink, token)
        clicks = session.scalars(sa.select(LeadEvent).where(LeadEvent.kind == "click")).all()
    assert link is not None and link.clicks == 2 and link.first_clicked_at is not None
    assert len(clicks) == 1 and clicks[0].payload == {"touch": 3, "url": "https://acme.example/guide"}
    unknown = live.client.get("/r/AAAAAAAAAAAAAAAAAAAAAA", follow_redirects=False)
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/html")


def test_erasing_a_lead_in_an_audience_queues_a_removal_that_holds_only_hashes(live: LiveNudge) -> None:
    _, key = live.business(
        "Acme",
        sms_from=SMS,
        audiences=[{"kind": "webhook", "name": "crm", "url": "https://crm.example/h", "secret": "s"}],
    )
    lead_id = live.client.post(
        "/v1/leads", headers=live.auth(key), json={"phone": "+12125550188", "email": "dana@example.com"}
    ).json()["id"]
    _touch_one(live, lead_id)
    with transaction(live.runtime.sessions) as session:  # as the value-offer touch would have
        session.add(
            AudienceJob(
                business_id=session.get(Lead, lead_id).business_id,  # type: ignore[union-attr]
                lead_id=lead_id,
                action="add",
                reason="value_offer",
                hashes=contact_hashes("dana@example.com", "+12125550188"),
                status="sent",
                available_at=live.runtime.clock.now(),
                created_at=live.runtime.clock.now(),
                updated_at=live.runtime.clock.now(),
            )
        )
    assert live.client.delete(f"/v1/leads/{lead_id}", headers=live.auth(key)).status_code == 204
    with live.runtime.sessions() as session:
        removal = session.scalars(sa.select(AudienceJob).where(AudienceJob.action == "remove")).one()
    assert removal.lead_id is None and removal.reason == "erased"
    assert removal.hashes == contact_hashes("dana@example.com", "+12125550188")
    assert "dana" not in str(removal.hashes) and "2125550188" not in str(removal.hashes)
