"""A business configures its own inbound email providers through `/v1/email-providers/{provider}`
and its mail arrives at the URL the API answers, verified with that business's secret only: no
server-wide secret is set here. The payloads are the providers' documented shapes
(tests/api/email_fixtures/, shared with test_email_providers.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from api.routes.email import connection_problem
from api.routes.email_providers import password_digest
from nudge.models import EmailProvider, InboundEmailPayload, LeadActivity, Message
from tests.conftest import LiveNudge, live_nudge, postgres_schema

FIXTURES = Path(__file__).parent / "email_fixtures"
_numbers = iter(range(1, 1000))


@dataclass
class Shop:
    """A business with its own sending address and API key."""

    id: str
    address: str
    key: str


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNudge]:
    tmp = tmp_path_factory.mktemp("emailcfg")
    with ExitStack() as stack:
        url = f"sqlite:///{tmp / 'nudge.db'}" if request.param == "sqlite" else stack.enter_context(postgres_schema())
        # Workers off: what a stored reply wakes is not under test; no NUDGE_EMAIL_INBOUND_SECRET and
        # no NUDGE_MAILGUN_SIGNING_KEY: the per-business secrets alone must do.
        yield stack.enter_context(live_nudge(url, tmp, twilio=False, workers=False, NUDGE_RATE_LIMIT_PER_SECOND=0))


def _shop(live: LiveNudge) -> Shop:
    address = f"hi{next(_numbers)}@shop.example"
    business_id, key = live.business("Shop", email_from=f"Shop <{address}>")
    return Shop(business_id, address, key)


def _lead(live: LiveNudge, shop: Shop, email: str) -> str:
    created = live.client.post("/v1/leads", headers=live.auth(shop.key), json={"email": email, "name": "Pat"})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _configure(live: LiveNudge, shop: Shop, provider: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    saved = live.client.put(f"/v1/email-providers/{provider}", headers=live.auth(shop.key), json=body or {})
    assert saved.status_code == 200, saved.text
    answer: dict[str, Any] = saved.json()
    return answer


def _path(answer: dict[str, Any]) -> str:
    return str(urlsplit(answer["inbound_url"]).path)


def _fixture(name: str, to: str, **replace: str) -> Any:
    text = (FIXTURES / name).read_text()
    for placeholder, value in {"{{TO}}": to, "{{SUBJECT}}": "Pricing", "{{IN_REPLY_TO}}": "<none@x>"}.items():
        text = text.replace(placeholder, value)
    data = json.loads(text)
    data.update(replace)
    return data


def _written(live: LiveNudge) -> tuple[int, int, int]:
    """Inbound messages, kept payloads and activity rows: what a delivery could have written."""
    with live.runtime.sessions() as session:
        inbound = session.scalar(sa.select(sa.func.count()).select_from(Message).where(Message.direction == "in"))
        kept = session.scalar(sa.select(sa.func.count()).select_from(InboundEmailPayload))
        notes = session.scalar(sa.select(sa.func.count()).select_from(LeadActivity))
    return inbound or 0, kept or 0, notes or 0


def _inbound(live: LiveNudge, lead_id: str) -> list[str]:
    with live.runtime.sessions() as session:
        query = sa.select(Message.body).where(Message.lead_id == lead_id, Message.direction == "in")
        return list(session.scalars(query))


def _mailgun_signed(live: LiveNudge, fields: dict[str, str], key: str) -> dict[str, str]:
    """Signed as Mailgun documents it: hex HMAC-SHA256 of timestamp + token with the signing key."""
    timestamp, token = str(int(live.runtime.clock.now().timestamp())), "b" * 50
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {**fields, "timestamp": timestamp, "token": token, "signature": signature}


def test_each_provider_is_configured_through_the_api(live: LiveNudge) -> None:
    shop = _shop(live)
    headers = live.auth(shop.key)
    empty = live.client.get("/v1/email-providers/postmark", headers=headers).json()
    assert empty == {**empty, "provider": "postmark", "configured": False, "inbound_url": None}

    made = _configure(live, shop, "postmark")
    password = made["password"]
    assert password and made["password_set"] and made["username"] == "nudge"
    assert made["inbound_url"] == f"{live.url}/webhooks/email/postmark/{made['id']}"
    assert made["paste_url"] == made["inbound_url"].replace("://", f"://nudge:{password}@", 1)

    read = live.client.get("/v1/email-providers/postmark", headers=headers)
    assert read.status_code == 200 and password not in read.text, "the password is shown once"
    assert read.json()["configured"] and read.json()["id"] == made["id"]
    again = _configure(live, shop, "postmark")
    assert again["password"] is None and again["id"] == made["id"], "a plain PUT keeps the password"

    wrong = [
        ("postmark", {"signing_key": "key-not-for-postmark"}, "signing_key"),
        ("mailgun", {}, "signing_key: required"),
        ("mailgun", {"rotate_password": True}, "rotate_password"),
        ("mailgun", {"signing_key": "short"}, "signing_key"),
        ("sendgrid", {"rotate_password": "yes"}, "rotate_password"),
        ("imap", {}, "provider"),
    ]
    for provider, body, named in wrong:
        refused = live.client.put(f"/v1/email-providers/{provider}", headers=headers, json=body)
        assert refused.status_code == 422 and named in refused.text, (provider, body, refused.text)
    assert live.client.get("/v1/email-providers/mailgun", headers=headers).json()["configured"] is False

    mailgun = _configure(live, shop, "mailgun", {"signing_key": "key-mailgun-of-this-shop"})
    assert mailgun["signing_key_set"] and mailgun["password"] is None and mailgun["username"] is None
    assert mailgun["paste_url"] == mailgun["inbound_url"]
    listed = live.client.get("/v1/email-providers", headers=headers)
    assert [p["provider"] for p in listed.json()["providers"]] == ["mailgun", "postmark"]
    assert "key-mailgun-of-this-shop" not in listed.text, "the signing key is write-only"

    assert live.client.delete("/v1/email-providers/mailgun", headers=headers).status_code == 204
    assert live.client.get("/v1/email-providers/mailgun", headers=headers).json()["configured"] is False
    gone = live.client.post(_path(mailgun), data={"timestamp": "1"})
    assert gone.status_code == 404, "a deleted connection's URL answers nothing"


def test_postmark_to_a_business_url_verifies_its_password_only(live: LiveNudge) -> None:
    mine, other = _shop(live), _shop(live)
    lead_id = _lead(live, mine, "dana@example.com")
    connection, others = _configure(live, mine, "postmark"), _configure(live, other, "postmark")
    url, payload = _path(connection), _fixture("postmark_inbound.json", mine.address)
    before = _written(live)
    assert live.client.post(url, json=payload).status_code == 401, "no basic auth"
    for auth in (("nudge", "guess"), ("nudge", str(others["password"]))):
        refused = live.client.post(url, json=payload, auth=auth)
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic"), refused.text
    assert live.client.post(_path(others), json=payload, auth=("nudge", connection["password"])).status_code == 401
    assert _written(live) == before, "a refused delivery writes nothing"

    response = live.client.post(url, json=payload, auth=("nudge", connection["password"]))
    assert response.status_code == 200 and response.json()["status"] == "stored", response.text
    assert _inbound(live, lead_id) == ["Can you send me the pricing for 3 seats?"]

    # Verified but unreadable: kept, on the business, answered 200 (Postmark would retry a 4xx).
    odd = live.client.post(url, content=b"{not json", auth=("nudge", connection["password"]))
    assert odd.status_code == 200 and odd.json()["status"] == "unreadable", odd.text
    with live.runtime.sessions() as session:
        kept = session.scalars(sa.select(InboundEmailPayload).where(InboundEmailPayload.payload == "{not json")).one()
    assert (kept.source, kept.business_id) == ("postmark", mine.id)

    rotated = _configure(live, mine, "postmark", {"rotate_password": True})
    assert rotated["password"] not in (None, connection["password"])
    stale = live.client.post(url, json=payload, auth=("nudge", connection["password"]))
    assert stale.status_code == 401, "the old password stops at rotation"
    duplicate = live.client.post(url, json=payload, auth=("nudge", rotated["password"]))
    assert duplicate.json()["status"] == "duplicate"


def test_a_business_url_keeps_the_mail_inside_its_business(live: LiveNudge) -> None:
    """The same person is a lead of two businesses: mail posted to B's connection is B's lead's,
    whatever address it names; a connection never reaches another business's leads."""
    a, b = _shop(live), _shop(live)
    lead_a, lead_b = _lead(live, a, "lee@example.com"), _lead(live, b, "lee@example.com")
    sendgrid = _configure(live, b, "sendgrid")
    fields = _fixture("sendgrid_inbound_parse.json", a.address)
    files = {"attachment1": ("notes.txt", b"three seats", "text/plain")}
    url, password = _path(sendgrid), sendgrid["password"]
    before = _written(live)
    assert live.client.post(url, data=fields, files=files).status_code == 401
    assert live.client.post(url, data=fields, files=files, auth=("nudge", "x" * 32)).status_code == 401
    assert _written(live) == before
    response = live.client.post(url, data=fields, files=files, auth=("nudge", password))
    assert response.status_code == 200 and response.json()["status"] == "stored", response.text
    assert (_inbound(live, lead_a), _inbound(live, lead_b)) == ([], ["Do you integrate with HubSpot?"])
    empty = live.client.post(
        url, content=b"\x00garbage", headers={"Content-Type": "multipart/form-data"}, auth=("nudge", password)
    )
    assert empty.status_code == 200 and empty.json()["status"] == "unreadable"


def test_mailgun_to_a_business_url_verifies_its_signing_key_only(live: LiveNudge) -> None:
    mine, other = _shop(live), _shop(live)
    lead_id = _lead(live, mine, "sam@example.com")
    connection = _configure(live, mine, "mailgun", {"signing_key": "key-mine-0123456789"})
    _configure(live, other, "mailgun", {"signing_key": "key-other-0123456789"})
    url, fields = _path(connection), _fixture("mailgun_route_forward.json", mine.address)
    before = _written(live)
    for forged in (fields, _mailgun_signed(live, fields, "key-other-0123456789"), _mailgun_signed(live, fields, "")):
        refused = live.client.post(url, data=forged)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "bad_signature", refused.text
    postmark_path = url.replace("/mailgun/", "/postmark/")
    assert live.client.post(postmark_path, json={}).status_code == 404, "a connection answers on its provider's URL"
    assert _written(live) == before

    response = live.client.post(url, data=_mailgun_signed(live, fields, "key-mine-0123456789"))
    assert response.status_code == 200 and response.json()["status"] == "auto_reply", response.text
    with live.runtime.sessions() as session:
        notes = session.scalars(sa.select(LeadActivity.detail).where(LeadActivity.lead_id == lead_id)).all()
    assert any("auto-reply" in note for note in notes) and _inbound(live, lead_id) == []


def test_connection_problem_decides_by_the_rows_own_secret() -> None:
    now = datetime(2026, 12, 8, tzinfo=UTC)
    basic = EmailProvider(provider="postmark", password_sha256=password_digest("right-password"))
    assert connection_problem(basic, "Basic bnVkZ2U6cmlnaHQtcGFzc3dvcmQ=", {}, now) is None  # nudge:right-password
    assert connection_problem(basic, "Basic bnVkZ2U6d3Jvbmc=", {}, now) == "wrong basic auth password"
    assert "base64" in (connection_problem(basic, "Basic ***", {}, now) or "")
    assert "required" in (connection_problem(basic, None, {}, now) or "")
    mailgun = EmailProvider(provider="mailgun", signing_key="key-0123456789")
    timestamp, token = str(int(now.timestamp())), "t" * 50
    signature = hmac.new(b"key-0123456789", f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    signed = {"timestamp": timestamp, "token": token, "signature": signature}
    assert connection_problem(mailgun, None, signed, now) is None
    assert connection_problem(EmailProvider(provider="mailgun", signing_key=""), None, signed, now) is not None
