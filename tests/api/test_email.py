"""Email end to end: SMTP to a real aiosmtpd server, List-Unsubscribe and RFC 8058 one-click,
threading headers, and replies/bounces through the signed inbound endpoint."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa

from nudge.models import InboundEmailPayload, Lead, Message, OptOut
from tests.conftest import LiveNudge, live_nudge
from tests.support.email_inbound import post_signed_email
from tests.support.smtp_server import SmtpServer

SECRET = "inbound-secret-for-tests"
FROM = "Acme <hi@acme.example>"


@pytest.fixture
def mail(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[LiveNudge, SmtpServer]]:
    with (
        SmtpServer() as smtp,
        live_nudge(sqlite_url, tmp_path, NUDGE_SMTP_URL=smtp.url, NUDGE_EMAIL_INBOUND_SECRET=SECRET) as live,
    ):
        yield live, smtp


def _email_lead(live: LiveNudge, **business: str) -> tuple[str, str]:
    _, key = live.business("Acme", email_from=FROM, **business)
    created = live.client.post(
        "/v1/leads",
        headers=live.auth(key),
        json={"name": "Dana Reyes", "email": "dana@example.com", "message": "Just browsing your plans for later"},
    )
    assert created.status_code == 201, created.text
    return key, created.json()["id"]


def _post_inbound(live: LiveNudge, payload: Mapping[str, object], *, secret: str = SECRET, age: int = 0) -> int:
    return post_signed_email(live, payload, secret=secret, age=age).status_code


def _wait(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _unsubscribe_url(email: EmailMessage) -> str:
    found = re.search(r"<(http[^>]+/u/[^>]+)>", str(email["List-Unsubscribe"]))
    assert found, email["List-Unsubscribe"]
    return found.group(1)


def test_touch_one_is_multipart_with_one_click_unsubscribe_headers(mail: tuple[LiveNudge, SmtpServer]) -> None:
    live, smtp = mail
    _, lead_id = _email_lead(live)
    email = smtp.wait_for(lambda m: m["To"] == "dana@example.com")
    assert email.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_content() for part in email.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"} and "Dana" in parts["text/plain"]
    assert parts["text/html"].startswith("<!doctype html>")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = str(email["List-Unsubscribe"])
    url = _unsubscribe_url(email)
    token = url.rsplit("/", 1)[1]
    assert url == f"{live.url}/u/{token}" and len(token) >= 32
    assert f"<mailto:hi@acme.example?subject=unsubscribe%20{token}>" in unsubscribe
    with live.runtime.sessions() as session:
        message = session.scalars(sa.select(Message).where(Message.lead_id == lead_id)).one()
    assert email["Message-ID"] == f"<{message.id}@acme.example>"
    _wait(lambda: _provider_ids(live) == [f"{message.id}@acme.example"], "the send recorded with its Message-ID")


def test_a_reply_by_email_is_answered_in_the_same_thread(mail: tuple[LiveNudge, SmtpServer]) -> None:
    live, smtp = mail
    _email_lead(live)
    first = smtp.wait_for(lambda m: m["To"] == "dana@example.com")
    _wait(lambda: len(_provider_ids(live)) == 1, "touch 1 recorded")
    reply = {
        "from": "Dana Reyes <dana@example.com>",
        "to": "hi@acme.example",
        "subject": f"Re: {first['Subject']}",
        "text": "What does the yearly plan include?",
        "message_id": "<reply-1@mail.example>",
    }
    assert _post_inbound(live, reply) == 200
    answer = smtp.wait_for(lambda m: m["In-Reply-To"] is not None)
    assert answer["In-Reply-To"] == "<reply-1@mail.example>"
    assert str(answer["References"]).split() == [str(first["Message-ID"]), "<reply-1@mail.example>"]
    assert _post_inbound(live, reply) == 200, "a replayed delivery is accepted and ignored"
    with live.runtime.sessions() as session:
        inbound = session.scalars(sa.select(Message).where(Message.direction == "in")).all()
    assert len(inbound) == 1 and inbound[0].channel == "email"


def test_one_click_unsubscribe_by_form_post_stops_everything(mail: tuple[LiveNudge, SmtpServer]) -> None:
    live, smtp = mail
    _, lead_id = _email_lead(live)
    url = _unsubscribe_url(smtp.wait_for(lambda m: m["To"] == "dana@example.com"))
    page = live.client.get(url)
    assert page.status_code == 200 and 'method="post"' in page.text
    with live.runtime.sessions() as session:
        assert not session.scalars(sa.select(OptOut)).all(), "GET (a link scanner) unsubscribes nobody"
    response = live.client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "unsubscribed" in response.text
    assert live.client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200, "idempotent"
    with live.runtime.sessions() as session:
        assert set(session.scalars(sa.select(OptOut.channel))) == {"all"}
    _wait(lambda: _stage(live, lead_id) == "opted_out", "the lead's graph stopped")
    assert "You are unsubscribed" in live.client.get(url).text
    unknown = live.client.get("/u/not-a-real-token")
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/html")
    assert "not valid" in unknown.text
    assert live.client.post("/u/not-a-real-token", data={"List-Unsubscribe": "One-Click"}).status_code == 404


def test_mailto_unsubscribe_through_the_inbound_endpoint(mail: tuple[LiveNudge, SmtpServer]) -> None:
    live, smtp = mail
    _, lead_id = _email_lead(live)
    token = _unsubscribe_url(smtp.wait_for(lambda m: m["To"] == "dana@example.com")).rsplit("/", 1)[1]
    payload = {"from": "dana@example.com", "to": "hi@acme.example", "subject": f"unsubscribe {token}"}
    assert _post_inbound(live, {**payload, "message_id": "<u1@mail.example>"}) == 200
    with live.runtime.sessions() as session:
        assert set(session.scalars(sa.select(OptOut.channel))) == {"all"}
    _wait(lambda: _stage(live, lead_id) == "opted_out", "the lead's graph stopped")


def test_inbound_email_must_be_signed_and_fresh(mail: tuple[LiveNudge, SmtpServer]) -> None:
    live, _ = mail
    live.business("Acme", email_from=FROM)
    payload = {"from": "x@example.com", "to": "hi@acme.example", "text": "hi", "message_id": "<m1@x>"}
    assert _post_inbound(live, payload, secret="wrong") == 403
    assert _post_inbound(live, payload, age=3600) == 403, "an old capture cannot be replayed"
    unsigned = live.client.post("/webhooks/email/inbound", json=payload)
    assert unsigned.status_code == 403 and "X-Nudge-Signature" in unsigned.json()["error"]["message"]
    assert _post_inbound(live, {**payload, "to": "nobody@else.example"}) == 404
    with live.runtime.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(InboundEmailPayload)) == 0
    assert _post_inbound(live, payload) == 200


def test_a_hard_bounce_sends_the_touch_on_the_next_channel(mail: tuple[LiveNudge, SmtpServer]) -> None:
    live, smtp = mail
    key, _ = _email_lead(live, sms_from="+14155550101")
    smtp.wait_for(lambda m: m["To"] == "dana@example.com")  # no phone yet: touch 1 went by email
    sequence = live.client.get("/v1/sequence", headers=live.auth(key)).json()
    assert sequence["touches"][0]["channels"][-1] == "email"
    with live.runtime.sessions() as session:
        lead = session.scalars(sa.select(Lead)).one()
        message = session.scalars(sa.select(Message)).one()
    _wait(lambda: _provider_ids(live) == [f"{message.id}@acme.example"], "touch 1 recorded")
    with live.runtime.sessions() as session:  # the lead gave a phone number later (CRM update)
        row = session.get(Lead, lead.id)
        assert row is not None
        row.phone, row.consent = "+12125550188", {"sms": True, "email": True}
        session.commit()
    bounce = {
        "type": "bounce",
        "from": "mailer-daemon@mail.example",
        "to": "hi@acme.example",
        "message_id": "<bounce-1@mail.example>",
        "bounced_message_id": f"<{message.id}@acme.example>",
        "diagnostic": "550 5.1.1 user unknown",
    }
    assert _post_inbound(live, bounce) == 200
    assert live.twilio is not None
    sms = live.twilio.wait_for_message(lambda m: m["to"] == "+12125550188", timeout=5)
    assert sms["body"].strip()
    with live.runtime.sessions() as session:
        failed = session.get(Message, message.id)
        lead_row = session.get(Lead, lead.id)
        assert failed is not None and lead_row is not None
        assert (failed.status, failed.error_code) == ("failed", "bounce")
        assert "email" in lead_row.extra["unreachable"]


def _provider_ids(live: LiveNudge) -> list[str]:
    with live.runtime.sessions() as session:
        return [
            p or ""
            for p in session.scalars(
                sa.select(Message.provider_id).where(Message.direction == "out", Message.provider_id.is_not(None))
            )
        ]


def _stage(live: LiveNudge, lead_id: str) -> str:
    with live.runtime.sessions() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        return lead.stage


def test_a_verified_payload_that_cannot_be_read_is_kept_not_refused(mail: tuple[LiveNudge, SmtpServer]) -> None:
    """Store it, then decide: a signed body without the fields named, or not JSON at all, or with
    a sender that is no address, is answered 200 `unreadable` and kept as received."""
    live, _ = mail
    live.business("Acme", email_from=FROM)
    no_address = {"from": "not an address", "to": "hi@acme.example", "message_id": "<a@b>"}
    for payload in ({"from": "x@example.com"}, no_address):
        response = post_signed_email(live, payload, secret=SECRET)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "unreadable" and response.json()["detail"]
    with live.runtime.sessions() as session:
        kept = session.scalars(sa.select(InboundEmailPayload).order_by(InboundEmailPayload.received_at)).all()
        assert [row.source for row in kept] == ["nudge", "nudge"]
        assert '"not an address"' in kept[1].payload
        assert session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0
