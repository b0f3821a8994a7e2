"""Inbound email in the providers' own formats, from fixtures shaped like their documented examples
(tests/api/email_fixtures/): Postmark inbound JSON and SendGrid Inbound Parse behind basic auth,
Mailgun routes behind Mailgun's signature. They end in the same handling as IMAP mail."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from nudge.models import InboundEmailPayload, Lead, LeadActivity, Message
from tests.conftest import LiveNudge, live_nudge
from tests.support.smtp_server import SmtpServer

SECRET = "inbound-secret-for-tests"
MAILGUN_KEY = "key-mailgun-signing-for-tests"
FIXTURES = Path(__file__).parent / "email_fixtures"
BASIC = ("inbound", SECRET)
_businesses = iter(range(1, 1000))


@pytest.fixture(scope="module")
def mail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveNudge, SmtpServer]]:
    tmp = tmp_path_factory.mktemp("providers")
    with (
        SmtpServer() as smtp,
        live_nudge(
            f"sqlite:///{tmp / 'nudge.db'}",
            tmp,
            NUDGE_SMTP_URL=smtp.url,
            NUDGE_EMAIL_INBOUND_SECRET=SECRET,
            NUDGE_MAILGUN_SIGNING_KEY=MAILGUN_KEY,
        ) as live,
    ):
        yield live, smtp


def _wait(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _touch_one(mail: tuple[LiveNudge, SmtpServer], lead_email: str) -> tuple[str, str, EmailMessage]:
    """A business with its own address, a lead, and the email touch 1 sent her:
    (business address, lead id, the email)."""
    live, smtp = mail
    address = f"hi{next(_businesses)}@acme.example"
    _, key = live.business("Acme", email_from=f"Acme <{address}>")
    created = live.client.post("/v1/leads", headers=live.auth(key), json={"email": lead_email, "message": "pricing?"})
    assert created.status_code == 201, created.text
    sent = smtp.wait_for(lambda m: m["To"] == lead_email)
    lead_id = str(created.json()["id"])
    _wait(lambda: _provider_ids(live, lead_id) != [], "touch 1 recorded with its Message-ID")
    return address, lead_id, sent


def _fixture(name: str, to: str, sent: EmailMessage) -> Any:
    text = (FIXTURES / name).read_text()
    values = {"{{TO}}": to, "{{SUBJECT}}": str(sent["Subject"]), "{{IN_REPLY_TO}}": str(sent["Message-ID"])}
    for placeholder, value in values.items():
        text = text.replace(placeholder, json.dumps(value)[1:-1])
    return json.loads(text)


def _inbound(live: LiveNudge, lead_id: str) -> list[str]:
    with live.runtime.sessions() as session:
        query = sa.select(Message.body).where(Message.lead_id == lead_id, Message.direction == "in")
        return list(session.scalars(query))


def _provider_ids(live: LiveNudge, lead_id: str) -> list[str]:
    with live.runtime.sessions() as session:
        query = sa.select(Message.provider_id).where(
            Message.lead_id == lead_id, Message.direction == "out", Message.provider_id.is_not(None)
        )
        return [p or "" for p in session.scalars(query)]


def _mailgun_signed(live: LiveNudge, fields: dict[str, str], key: str = MAILGUN_KEY) -> dict[str, str]:
    """Signed as Mailgun documents it: hex HMAC-SHA256 of timestamp + token with the signing key."""
    timestamp, token = str(int(live.runtime.clock.now().timestamp())), "a" * 25 + "0123456789abcdef0123456789"[:25]
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {**fields, "timestamp": timestamp, "token": token, "signature": signature}


def test_postmark_inbound_json_is_a_reply_threaded_to_the_lead(mail: tuple[LiveNudge, SmtpServer]) -> None:
    live, smtp = mail
    address, lead_id, sent = _touch_one(mail, "dana@example.com")
    payload = _fixture("postmark_inbound.json", address, sent)
    assert live.client.post("/webhooks/email/postmark", json=payload).status_code == 401, "no basic auth"
    wrong = live.client.post("/webhooks/email/postmark", json=payload, auth=("inbound", "guess"))
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Basic")
    assert _inbound(live, lead_id) == []
    response = live.client.post("/webhooks/email/postmark", json=payload, auth=BASIC)
    assert response.status_code == 200 and response.json()["status"] == "stored", response.text
    assert _inbound(live, lead_id) == ["Can you send me the pricing for 3 seats?"], "StrippedTextReply, not the quote"
    again = live.client.post("/webhooks/email/postmark", json=payload, auth=BASIC)
    assert again.json()["status"] == "duplicate", "a retried delivery is recognised by its Message-ID"
    smtp.wait_for(lambda m: m["To"] == "dana@example.com" and m["In-Reply-To"] is not None)


def test_sendgrid_inbound_parse_multipart_with_an_attachment(mail: tuple[LiveNudge, SmtpServer]) -> None:
    live, _ = mail
    address, lead_id, sent = _touch_one(mail, "lee@example.com")
    fields = _fixture("sendgrid_inbound_parse.json", address, sent)
    files = {"attachment1": ("notes.txt", b"three seats, annual billing", "text/plain")}
    response = live.client.post("/webhooks/email/sendgrid", data=fields, files=files, auth=BASIC)
    assert response.status_code == 200 and response.json()["status"] == "stored", response.text
    assert _inbound(live, lead_id) == ["Do you integrate with HubSpot?"]
    # SendGrid retries anything but a 2xx for days: a body it cannot have meant is kept, not refused.
    truncated = b'--b1\r\nContent-Disposition: form-data; name="text"\r\n\r\ncut off mid garbage'
    for body, kind in ((b"\x00garbage", "multipart/form-data"), (truncated, "multipart/form-data; boundary=b1")):
        odd = live.client.post("/webhooks/email/sendgrid", content=body, headers={"Content-Type": kind}, auth=BASIC)
        assert odd.status_code == 200 and odd.json()["status"] == "unreadable", odd.text
    with live.runtime.sessions() as session:
        kept = session.scalars(sa.select(InboundEmailPayload).where(InboundEmailPayload.source == "sendgrid")).all()
    assert len(kept) == 2 and all("garbage" in row.payload for row in kept)


def test_mailgun_route_is_verified_and_an_out_of_office_changes_nothing(mail: tuple[LiveNudge, SmtpServer]) -> None:
    live, _ = mail
    address, lead_id, sent = _touch_one(mail, "sam@example.com")
    fields = _fixture("mailgun_route_forward.json", address, sent)
    with live.runtime.sessions() as session:
        before = session.get(Lead, lead_id)
        assert before is not None
    forged = _mailgun_signed(live, fields, key="not-the-signing-key")
    refused = live.client.post("/webhooks/email/mailgun", data=forged)
    assert refused.status_code == 403 and "signature" in refused.json()["error"]["message"]
    stale = _mailgun_signed(live, fields)
    stale["timestamp"] = str(int(stale["timestamp"]) - 3600)
    assert live.client.post("/webhooks/email/mailgun", data=stale).status_code == 403, "a replayed capture"
    assert live.client.post("/webhooks/email/mailgun", data=fields).status_code == 403, "unsigned"
    response = live.client.post("/webhooks/email/mailgun", data=_mailgun_signed(live, fields))
    assert response.status_code == 200 and response.json()["status"] == "auto_reply", response.text
    with live.runtime.sessions() as session:
        after = session.get(Lead, lead_id)
        notes = session.scalars(sa.select(LeadActivity.detail).where(LeadActivity.kind == "auto_reply")).all()
        assert after is not None
    assert _inbound(live, lead_id) == []
    assert (after.stage, after.next_touch, after.next_due_at) == (before.stage, before.next_touch, before.next_due_at)
    assert any("auto-submitted" in note for note in notes)


def test_a_bounce_in_a_providers_raw_mime_fails_the_email(mail: tuple[LiveNudge, SmtpServer]) -> None:
    """Postmark's RawEmail (the "include raw email" option) carries the DSN's parts."""
    live, _ = mail
    address, lead_id, sent = _touch_one(mail, "kim@example.com")
    raw = (
        f"From: MAILER-DAEMON@mail.example\r\nTo: {address}\r\nSubject: Delivery Status Notification (Failure)\r\n"
        "Message-ID: <dsn-1@mail.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nDelivery to kim@example.com failed permanently.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.example\r\n\r\n"
        "Final-Recipient: rfc822; kim@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 The email account that you tried to reach does not exist.\r\n\r\n"
        f"--b1\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: {sent['Message-ID']}\r\nSubject: hi\r\n\r\nbody\r\n"
        "--b1--\r\n"
    )
    payload = {"From": "MAILER-DAEMON@mail.example", "To": address, "MessageID": "pm-dsn-1", "RawEmail": raw}
    response = live.client.post("/webhooks/email/postmark", json=payload, auth=BASIC)
    assert response.status_code == 200 and response.json()["status"] == "bounce_recorded", response.text
    with live.runtime.sessions() as session:
        message = session.scalars(sa.select(Message).where(Message.lead_id == lead_id)).one()
        lead = session.get(Lead, lead_id)
    assert (message.status, message.error_code) == ("failed", "bounce")
    assert lead is not None and "email" in lead.extra["unreachable"]


def test_provider_endpoints_are_closed_without_their_secrets(tmp_path: Path, sqlite_url: str) -> None:
    with live_nudge(sqlite_url, tmp_path, twilio=False, workers=False) as live:
        for path in ("/webhooks/email/postmark", "/webhooks/email/sendgrid"):
            response = live.client.post(path, json={}, auth=BASIC)
            assert response.status_code == 401 and "not configured" in response.json()["error"]["message"]
        refused = httpx.post(f"{live.url}/webhooks/email/mailgun", data={"timestamp": "1"})
        assert refused.status_code == 403 and "NUDGE_MAILGUN_SIGNING_KEY" in refused.json()["error"]["message"]
