"""Booking webhooks end to end over real HTTP, on SQLite and PostgreSQL: Cal.com and Calendly
payloads signed as the providers sign them book, reschedule and cancel; forged or stale ones are
refused; the conversion shows in attribution credited to the touch whose link was used."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from nudge.db import transaction
from nudge.models import Booking, Business, Conversion, Lead, LeadEvent, Message, Notification, TrackedLink
from scheduler.inputs import business_for_number, receive_message
from tests.conftest import LiveNudge, live_nudge, postgres_schema
from tests.support.booking import calcom_body, calendly_body, post_booking

_numbers = iter(range(10, 10_000))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNudge]:
    tmp: Path = tmp_path_factory.mktemp("booking")
    with ExitStack() as stack:
        url = f"sqlite:///{tmp / 'nudge.db'}" if request.param == "sqlite" else stack.enter_context(postgres_schema())
        yield stack.enter_context(live_nudge(url, tmp, twilio=False, NUDGE_RATE_LIMIT_PER_SECOND=0))


def _wait(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return found


def _business(live: LiveNudge, booking_url: str) -> tuple[str, dict[str, str]]:
    n = next(_numbers)
    business_id, key = live.business(
        f"Acme {n}",
        sms_from=f"+1415557{n:04d}",
        email_from=f"hi{n}@acme.example",
        profile={"booking_url": booking_url},
    )
    headers = live.auth(key)
    rep = live.client.post("/v1/reps", headers=headers, json={"name": "Rita", "email": f"rita{n}@acme.example"})
    assert rep.status_code == 201, rep.text
    return business_id, headers


def _integration(live: LiveNudge, headers: dict[str, str], provider: str) -> tuple[str, str]:
    created = live.client.post("/v1/booking-integrations", headers=headers, json={"provider": provider})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["webhook_url"] == f"{live.url}/webhooks/booking/{body['id']}"
    return body["id"], body["secret"]


def _lead(live: LiveNudge, headers: dict[str, str], **fields: Any) -> str:
    body = {"name": "Dana Reyes", "message": "Hi, I'd like pricing for my clinic", "consent": {"sms": True}, **fields}
    created = live.client.post("/v1/leads", headers=headers, json=body)
    assert created.status_code == 201, created.text
    lead_id = str(created.json()["id"])
    _wait(lambda: _lead_row(live, lead_id).last_touch >= 1, "touch 1")
    return lead_id


def _lead_row(live: LiveNudge, lead_id: str) -> Lead:
    with live.runtime.sessions() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        return lead


def _rows(live: LiveNudge, model: Any, *where: Any) -> list[Any]:
    with live.runtime.sessions() as session:
        return list(session.scalars(sa.select(model).where(*where)))


def _attribution(live: LiveNudge, headers: dict[str, str], model: str) -> dict[str, Any]:
    answer = live.client.get(f"/v1/reports/attribution?model={model}", headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _credit(live: LiveNudge, headers: dict[str, str], model: str) -> dict[str, float]:
    """Touch → conversions credited, touches with none left out."""
    by_touch = _attribution(live, headers, model)["by"]["touch"]
    return {c["key"]: c["conversions"] for c in by_touch if c["conversions"]}


def test_calcom_books_reschedules_and_cancels(live: LiveNudge) -> None:
    business_id, headers = _business(live, "https://cal.com/acme/intro")
    integration, secret = _integration(live, headers, "calcom")
    lead_id = _lead(live, headers, email="dana@example.com", phone="+5511987650101")

    created = calcom_body("BOOKING_CREATED", "bFJeNb2uX8ANpT3JL5EfXw", email="Dana@Example.com")
    forged = post_booking(live.client, integration, "calcom", "not-the-secret-at-all", created)
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "bad_signature"
    assert _rows(live, Booking, Booking.business_id == business_id) == []

    first = post_booking(live.client, integration, "calcom", secret, created)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "booked" and first.json()["lead_id"] == lead_id
    retried = post_booking(live.client, integration, "calcom", secret, created)
    assert retried.json()["status"] == "duplicate"
    conversions = _rows(live, Conversion, Conversion.lead_id == lead_id)
    assert [(c.kind, c.source, c.touch, c.withdrawn_at) for c in conversions] == [("booked", "booking", None, None)]

    booked = _wait(lambda: (lead := _lead_row(live, lead_id)).stage == "booked" and lead, "the lead booked")
    assert booked.next_touch is None and booked.next_due_at is None  # the cadence stops
    notice = _wait(
        lambda: [n for n in _rows(live, Notification, Notification.business_id == business_id) if n.status == "sent"],
        "the rep's notice",
    )
    assert notice[0].kind == "email" and "booked a meeting for 2026-12-20 09:30 UTC" in notice[0].payload["text"]

    moved = calcom_body(
        "BOOKING_RESCHEDULED",
        "new-uid-Xq93",
        email="dana@example.com",
        start="2026-12-22T15:00:00Z",
        end="2026-12-22T15:30:00Z",
        reschedule_uid="bFJeNb2uX8ANpT3JL5EfXw",
    )
    assert post_booking(live.client, integration, "calcom", secret, moved).json()["status"] == "rescheduled"
    listed = live.client.get(f"/v1/bookings?lead_id={lead_id}", headers=headers).json()["bookings"]
    assert {(b["uid"], b["status"]) for b in listed} == {
        ("bFJeNb2uX8ANpT3JL5EfXw", "rescheduled"),
        ("new-uid-Xq93", "booked"),
    }
    assert next(b for b in listed if b["status"] == "booked")["start_at"].startswith("2026-12-22T15:00:00")
    assert len(_rows(live, Conversion, Conversion.lead_id == lead_id)) == 1  # still one booking
    assert _attribution(live, headers, "last")["total"]["conversions"] == 1.0

    cancelled = calcom_body("BOOKING_CANCELLED", "new-uid-Xq93", email="dana@example.com")
    assert post_booking(live.client, integration, "calcom", secret, cancelled).json()["status"] == "cancelled"
    assert post_booking(live.client, integration, "calcom", secret, cancelled).json()["status"] == "duplicate"
    (conversion,) = _rows(live, Conversion, Conversion.lead_id == lead_id)
    assert conversion.withdrawn_at is not None  # kept, but no longer credited
    assert _attribution(live, headers, "last")["total"]["conversions"] == 0.0

    resumed = _wait(lambda: (lead := _lead_row(live, lead_id)).stage == "nurturing" and lead, "nurturing again")
    # Touch 2 (the qualification question, minutes after a reply) is past its moment: touch 3, a day on.
    assert resumed.next_touch == 3 and resumed.next_due_at is not None
    assert resumed.next_due_at - live.runtime.clock.now() > timedelta(hours=20)
    offer = _wait(
        lambda: [
            m for m in _rows(live, Message, Message.lead_id == lead_id) if m.info.get("kind") == "booking_cancelled"
        ],
        "the message offering a new time",
    )
    assert f"{live.url}/r/" in offer[0].body and offer[0].channel == "sms"


def _history(live: LiveNudge, business_id: str, lead_id: str, booking_url: str) -> str:
    """Touches 5 (with the booking link) and 6 as the lead received them after touch 1; returns the
    token of touch 5's tracked link."""
    (touch1,) = _wait(
        lambda: _rows(live, Message, Message.lead_id == lead_id, Message.touch == 1, Message.sent_at.is_not(None)),
        "touch 1 sent",
    )
    token = f"tok{next(_numbers)}Booking"
    with transaction(live.runtime.sessions) as session:
        for touch, after in ((5, 1), (6, 2)):
            at = touch1.sent_at + timedelta(milliseconds=after)
            session.add(
                Message(
                    business_id=business_id,
                    lead_id=lead_id,
                    direction="out",
                    channel="sms",
                    touch=touch,
                    author="agent",
                    composer="template",
                    body=f"touch {touch}",
                    status="delivered",
                    created_at=at,
                    sent_at=at,
                )
            )
        session.add(
            TrackedLink(
                token=token,
                business_id=business_id,
                lead_id=lead_id,
                touch=5,
                url=booking_url,
                clicks=0,
                created_at=touch1.created_at,
            )
        )
    return token


def _lead_writes(live: LiveNudge, business_id: str, phone: str, text: str) -> None:
    """An SMS from the lead, received as the Twilio webhook receives it (this test runs sandbox channels)."""
    with transaction(live.runtime.sessions) as session:
        business = session.get(Business, business_id)
        assert business is not None and business.sms_from is not None
        owner = business_for_number(session, "sms", business.sms_from)
        assert owner is not None
        lead_id = receive_message(
            session,
            owner,
            channel="sms",
            phone=phone,
            body=text,
            provider_id=f"SM{next(_numbers)}",
            now=live.runtime.clock.now(),
        )
    assert lead_id is not None
    live.runtime.dispatcher.wake(lead_id)


def test_calendly_booking_through_the_tracked_link_credits_that_touch(live: LiveNudge) -> None:
    url = "https://calendly.com/acme/intro?month=2026-12"
    business_id, headers = _business(live, url)
    integration, secret = _integration(live, headers, "calendly")
    lead_id = _lead(live, headers, phone="+5511987650102")
    token = _history(live, business_id, lead_id, url)

    # The click goes to Calendly with the token where Calendly keeps it (UTM tracking).
    clicked = live.client.get(f"/r/{token}", follow_redirects=False)
    assert clicked.status_code == 307
    location = urlsplit(clicked.headers["location"])
    assert location.netloc == "calendly.com" and location.path == "/acme/intro"
    assert parse_qs(location.query) == {"month": ["2026-12"], "utm_source": ["nudge"], "utm_content": [token]}

    invitee = "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAAAAAAAAAAAAAA"
    # Booked under another email address: the link still names the lead and touch 5.
    created = calendly_body(
        "invitee.created", invitee, email="dana.work@example.org", utm_source="nudge", utm_content=token
    )
    stale = post_booking(live.client, integration, "calendly", secret, created, at=int(time.time()) - 181)
    assert stale.status_code == 401 and "180 s old" in stale.json()["error"]["message"]
    answer = post_booking(live.client, integration, "calendly", secret, created)
    assert answer.status_code == 200 and answer.json()["status"] == "booked" and answer.json()["lead_id"] == lead_id
    (booking,) = _rows(live, Booking, Booking.lead_id == lead_id)
    assert (booking.touch, booking.matched_by) == (5, "link")

    # Touch 6 went out after touch 5 but before the booking: the link says touch 5 did it.
    assert _credit(live, headers, "last") == {"5": 1.0}
    assert _credit(live, headers, "first") == {"1": 1.0}
    assert _credit(live, headers, "linear") == {"1": 0.5, "5": 0.5}
    _wait(lambda: _lead_row(live, lead_id).stage == "booked", "the lead booked")
    # The lead writes before the meeting: answered, still booked, nothing scheduled.
    _lead_writes(live, business_id, "+5511987650102", "Do I need to bring anything to the meeting?")
    _wait(lambda: len(_rows(live, Message, Message.lead_id == lead_id, Message.direction == "out")) > 3, "an answer")
    lead = _lead_row(live, lead_id)  # the answer and the lead's new state commit together
    assert (lead.stage, lead.next_touch) == ("booked", None) and lead.last_inbound_at is not None

    # Calendly reschedules by cancelling the old invitee (rescheduled) and creating a new one.
    new_invitee = invitee.replace("AAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBB")
    old = calendly_body("invitee.canceled", invitee, email="dana.work@example.org", rescheduled=True)
    assert post_booking(live.client, integration, "calendly", secret, old).json()["status"] == "rescheduled"
    again = calendly_body(
        "invitee.created", new_invitee, email="dana.work@example.org", old_invitee=invitee, start="2026-12-23T10:00:00Z"
    )
    assert post_booking(live.client, integration, "calendly", secret, again).json()["status"] == "rescheduled"
    current = _rows(live, Booking, Booking.lead_id == lead_id, Booking.status == "booked")
    assert [(b.uid, b.touch, b.start_at.isoformat()) for b in current] == [
        (new_invitee, 5, "2026-12-23T10:00:00+00:00")
    ]
    assert _credit(live, headers, "last") == {"5": 1.0}
    assert _lead_row(live, lead_id).stage == "booked"

    # The lead opts out, then cancels: the conversion is withdrawn, but nothing is sent to them.
    _lead_writes(live, business_id, "+5511987650102", "STOP")
    _wait(lambda: _lead_row(live, lead_id).stage == "opted_out", "the opt-out")
    gone = calendly_body("invitee.canceled", new_invitee, email="dana.work@example.org")
    assert post_booking(live.client, integration, "calendly", secret, gone).json()["status"] == "cancelled"
    assert _credit(live, headers, "last") == {}
    _wait(
        lambda: (
            _rows(
                live,
                LeadEvent,
                LeadEvent.lead_id == lead_id,
                LeadEvent.kind == "signal",
                LeadEvent.processed_at.is_(None),
            )
            == []
        ),
        "the cancellation's run",
    )
    assert _lead_row(live, lead_id).stage == "opted_out"
    kinds = [m.info.get("kind") for m in _rows(live, Message, Message.lead_id == lead_id, Message.direction == "out")]
    assert "booking_cancelled" not in kinds


def test_unknown_invitees_and_unreadable_deliveries_are_stored_and_answered_2xx(live: LiveNudge) -> None:
    _, headers = _business(live, "https://book.example.com/acme")
    integration, secret = _integration(live, headers, "generic")
    phone_lead = _lead(live, headers, phone="+5511987650103")

    unknown = {"event": "booking.created", "uid": "ext-1", "invitee": {"email": "stranger@example.com"}}
    answer = post_booking(live.client, integration, "generic", secret, unknown)
    assert answer.status_code == 200 and answer.json() == {
        "status": "stored",
        "booking_id": answer.json()["booking_id"],
        "lead_id": None,
    }
    # Matched by phone, written another way (the ninth digit's old form is folded by phone_key).
    by_phone = {"event": "booking.created", "uid": "ext-2", "invitee": {"phone": "+55 11 8765-0103"}, "ref": "not-ours"}
    assert post_booking(live.client, integration, "generic", secret, by_phone).json()["lead_id"] == phone_lead
    never_seen = {"event": "booking.cancelled", "uid": "ext-404"}
    assert post_booking(live.client, integration, "generic", secret, never_seen).json()["status"] == "stored"
    garbage = post_booking(live.client, integration, "generic", secret, b"\x00not json{")
    assert garbage.status_code == 200 and garbage.json()["status"] == "stored"
    assert post_booking(live.client, integration, "generic", secret, b"\x00not json{").json()["status"] == "duplicate"
    ping = {"event": "ping"}
    assert post_booking(live.client, integration, "generic", secret, ping).json()["status"] == "ignored"

    listed = live.client.get("/v1/bookings", headers=headers).json()["bookings"]
    assert {(b["uid"][:5], b["status"], b["lead_id"]) for b in listed} == {
        ("ext-1", "booked", None),
        ("ext-2", "booked", phone_lead),
        ("ext-4", "cancelled", None),
        ("body:", "unreadable", None),
    }
    assert live.client.get("/v1/bookings?status=maybe", headers=headers).status_code == 422
    assert post_booking(live.client, "bki_nope", "generic", secret, unknown).status_code == 404


def test_integrations_are_configured_and_rotated_through_the_api(live: LiveNudge) -> None:
    _, headers = _business(live, "https://cal.com/acme")
    api = "/v1/booking-integrations"
    assert live.client.post(api, headers=headers, json={"provider": "zoom"}).status_code == 422
    assert live.client.post(api, headers=headers, json={"provider": "calendly", "secret": "short"}).status_code == 422
    chosen = "calendly-oauth-signing-key-0123456789"
    created = live.client.post(api, headers=headers, json={"provider": "calendly", "secret": chosen}).json()
    assert created["secret"] == chosen
    listed = live.client.get(api, headers=headers).json()["integrations"]
    assert [i["id"] for i in listed] == [created["id"]] and "secret" not in listed[0]

    body = calendly_body("invitee.created", "https://api.calendly.com/scheduled_events/R/invitees/ROT1")
    rotated = live.client.post(f"{api}/{created['id']}/rotate", headers=headers, json={}).json()
    assert rotated["secret"] != chosen and rotated["previous_secret_valid_until"] is not None
    # During the grace period both secrets verify; after a rotation without grace the old one fails.
    assert post_booking(live.client, created["id"], "calendly", chosen, body).status_code == 200
    assert post_booking(live.client, created["id"], "calendly", rotated["secret"], body).status_code == 200
    again = live.client.post(f"{api}/{created['id']}/rotate", headers=headers, json={"grace_seconds": 0}).json()
    assert post_booking(live.client, created["id"], "calendly", rotated["secret"], body).status_code == 401
    assert post_booking(live.client, created["id"], "calendly", again["secret"], body).status_code == 200
    bad_grace = live.client.post(f"{api}/{created['id']}/rotate", headers=headers, json={"grace_seconds": -1})
    assert bad_grace.status_code == 422

    assert live.client.delete(f"{api}/{created['id']}", headers=headers).status_code == 204
    assert post_booking(live.client, created["id"], "calendly", again["secret"], body).status_code == 404
    assert live.client.delete(f"{api}/{created['id']}", headers=headers).status_code == 404


def test_the_same_booking_delivered_at_once_is_stored_once(live: LiveNudge) -> None:
    _, headers = _business(live, "https://cal.com/acme")
    integration, secret = _integration(live, headers, "calcom")
    lead_id = _lead(live, headers, email="race@example.com")
    body = calcom_body("BOOKING_CREATED", "race-uid-1", email="race@example.com")
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: post_booking(live.client, integration, "calcom", secret, body), range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    assert sorted(a.json()["status"] for a in answers) == ["booked", "duplicate", "duplicate", "duplicate"]
    assert len(_rows(live, Conversion, Conversion.lead_id == lead_id)) == 1
    assert len(_rows(live, Booking, Booking.lead_id == lead_id)) == 1
