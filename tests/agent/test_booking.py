"""Booking's plain functions: each provider's signature, reading its payloads, what an event does
to the bookings known, the token a booking link carries, and the journey a linked booking credits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from agent.attribution.ledger import Converted, LeadLedger, Sent
from agent.booking.events import BookingEvent, read_event
from agent.booking.links import with_booking_ref
from agent.booking.signatures import calcom_problem, calendly_problem, generic_problem, parse_calendly_header
from agent.booking.store import decide
from tests.support.booking import calcom_body, calcom_headers, calendly_body, calendly_headers, generic_headers

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SECRET = "whsec-test-0123456789abcdef"
BODY = b'{"triggerEvent":"BOOKING_CREATED","payload":{"uid":"u1"}}'


def test_calcom_signature_is_the_hex_hmac_of_the_body() -> None:
    header = calcom_headers(SECRET, BODY)["X-Cal-Signature-256"]
    assert calcom_problem([SECRET], header, BODY) is None
    assert calcom_problem(["old-secret-xxxxxxxx", SECRET], header.upper(), BODY) is None  # rotation, hex case
    assert calcom_problem([SECRET], header, BODY + b" ") == "X-Cal-Signature-256 does not match this body"
    assert calcom_problem([SECRET], None, BODY) == "X-Cal-Signature-256 is required"
    assert calcom_problem(["another-secret-xxxx"], header, BODY) is not None


def test_calendly_signature_covers_the_timestamp_and_refuses_stale_ones() -> None:
    now = int(NOW.timestamp())
    header = calendly_headers(SECRET, BODY, at=now - 60)["Calendly-Webhook-Signature"]
    assert calendly_problem([SECRET], header, BODY, NOW) is None
    at_limit = calendly_headers(SECRET, BODY, at=now - 180)["Calendly-Webhook-Signature"]
    assert calendly_problem([SECRET], at_limit, BODY, NOW) is None
    stale = calendly_headers(SECRET, BODY, at=now - 181)["Calendly-Webhook-Signature"]
    assert "more than 180 s old" in str(calendly_problem([SECRET], stale, BODY, NOW))
    # The timestamp is signed: moving it forward breaks the signature.
    moved = header.replace(f"t={now - 60}", f"t={now}")
    assert calendly_problem([SECRET], moved, BODY, NOW) == "Calendly-Webhook-Signature does not match this body"
    for malformed in ("v1=abc", f"t={now}", "t=soon,v1=abc", "garbage", f"t={now},v1"):
        assert "must be t=" in str(calendly_problem([SECRET], malformed, BODY, NOW)), malformed
    assert calendly_problem([SECRET], None, BODY, NOW) == "Calendly-Webhook-Signature is required"


def test_calendly_header_may_carry_several_signatures() -> None:
    assert parse_calendly_header("t=1700000000,v1=aa,v1=BB") == (1700000000, ["aa", "bb"])
    now = int(NOW.timestamp())
    good = calendly_headers(SECRET, BODY, at=now)["Calendly-Webhook-Signature"]
    assert calendly_problem([SECRET], f"{good},v1=deadbeef", BODY, NOW) is None


def test_generic_signature_is_nudges_own_with_a_five_minute_window() -> None:
    now = int(NOW.timestamp())
    headers = {k.lower(): v for k, v in generic_headers(SECRET, BODY, at=now - 10).items()}
    assert generic_problem([SECRET], headers, BODY, NOW) is None
    old = {k.lower(): v for k, v in generic_headers(SECRET, BODY, at=now - 301).items()}
    assert "a replay?" in str(generic_problem([SECRET], old, BODY, NOW))
    assert generic_problem([SECRET], {}, BODY, NOW) == "X-Nudge-Timestamp and X-Nudge-Signature are required"


def _read(provider: str, document: object) -> BookingEvent:
    return read_event(provider, json.dumps(document).encode())


def test_calcom_payloads_read_as_documented() -> None:
    created = _read(
        "calcom", calcom_body("BOOKING_CREATED", "u1", metadata={"nudge_ref": "tok1"}, phone="+14155550100")
    )
    assert (created.action, created.uid, created.ref, created.previous_uid) == ("created", "u1", "tok1", "")
    assert created.invitee.email == "john.doe@example.com" and created.invitee.phone == "+14155550100"
    assert created.start_at == datetime(2026, 12, 20, 9, 30, tzinfo=UTC)
    moved = _read("calcom", calcom_body("BOOKING_RESCHEDULED", "u2", reschedule_uid="u1"))
    assert (moved.action, moved.uid, moved.previous_uid) == ("rescheduled", "u2", "u1")
    assert _read("calcom", calcom_body("BOOKING_CANCELLED", "u2")).action == "cancelled"
    assert _read("calcom", {"triggerEvent": "PING", "payload": {}}).action == "ignored"
    assert _read("calcom", {"triggerEvent": "MEETING_ENDED", "payload": {"uid": "u2"}}).action == "ignored"


def test_calendly_payloads_read_as_documented() -> None:
    uri = "https://api.calendly.com/scheduled_events/E/invitees/I1"
    created = _read("calendly", calendly_body("invitee.created", uri, utm_source="nudge", utm_content="tok2"))
    assert (created.action, created.uid, created.ref) == ("created", uri, "tok2")
    assert created.end_at == datetime(2026, 12, 21, 18, 30, tzinfo=UTC)
    # Someone else's UTM campaign is not our token.
    other = _read("calendly", calendly_body("invitee.created", uri, utm_source="newsletter", utm_content="tok2"))
    assert other.ref == ""
    again = _read("calendly", calendly_body("invitee.created", uri + "b", old_invitee=uri))
    assert (again.action, again.previous_uid) == ("rescheduled", uri)
    assert _read("calendly", calendly_body("invitee.canceled", uri, rescheduled=True)).action == "superseded"
    assert _read("calendly", calendly_body("invitee.canceled", uri)).action == "cancelled"
    assert _read("calendly", {"event": "invitee_no_show.created", "payload": {}}).action == "ignored"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"event": "booking.created"}', b'{"event": "booking.created", "uid": 7}', b"\xff\xfe"],
)
def test_what_cannot_be_read_is_unreadable_with_a_stable_identity(body: bytes) -> None:
    event = read_event("generic", body)
    assert event.action == "unreadable" and event.uid == read_event("generic", body).uid
    assert event.uid.startswith("body:")


def test_control_characters_are_dropped_not_refused() -> None:
    event = _read("generic", {"event": "booking.created", "uid": "u\x001", "invitee": {"name": "Ana\x07"}})
    assert (event.uid, event.invitee.name) == ("u1", "Ana")


def _event(action: str) -> BookingEvent:
    return BookingEvent(action, uid="u")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("action", "current", "previous", "decision"),
    [
        ("created", None, None, "book"),
        ("created", "booked", None, "duplicate"),
        ("created", "cancelled", None, "duplicate"),  # a retry of a booking cancelled since
        ("rescheduled", None, "booked", "reschedule"),
        ("rescheduled", None, "rescheduled", "reschedule"),  # Calendly's cancel of the old one came first
        ("rescheduled", None, None, "book"),  # the original never reached Nudge
        ("rescheduled", None, "cancelled", "book"),
        ("rescheduled", "booked", "rescheduled", "duplicate"),
        ("superseded", "booked", None, "supersede"),
        ("superseded", "rescheduled", None, "duplicate"),
        ("superseded", None, None, "store"),
        ("cancelled", "booked", None, "cancel"),
        ("cancelled", "cancelled", None, "duplicate"),
        ("cancelled", "rescheduled", None, "duplicate"),  # the meeting lives on under its new uid
        ("cancelled", None, None, "store"),
        ("unreadable", None, None, "store"),
        ("unreadable", "unreadable", None, "duplicate"),
        ("ignored", None, None, "ignore"),
    ],
)
def test_what_an_event_does(action: str, current: str | None, previous: str | None, decision: str) -> None:
    assert decide(_event(action), current, previous) == decision


def test_booking_links_carry_the_token_where_each_provider_keeps_it() -> None:
    assert with_booking_ref("https://calendly.com/acme/intro", "tok") == (
        "https://calendly.com/acme/intro?utm_source=nudge&utm_content=tok"
    )
    assert with_booking_ref("https://cal.com/acme/30min?duration=30", "tok") == (
        "https://cal.com/acme/30min?duration=30&metadata%5Bnudge_ref%5D=tok"
    )
    assert (
        with_booking_ref("https://app.cal.com/team/acme", "t")
        == "https://app.cal.com/team/acme?metadata%5Bnudge_ref%5D=t"
    )
    # An old value is replaced, not doubled; other sites are left exactly as they are.
    assert (
        with_booking_ref("https://calendly.com/a?utm_source=x", "t")
        == "https://calendly.com/a?utm_source=nudge&utm_content=t"
    )
    for untouched in ("https://notcalendly.com/a", "https://acme.example/book?x=1", "https://evilcal.com/a"):
        assert with_booking_ref(untouched, "t") == untouched


def test_a_linked_conversion_credits_its_touch_and_nothing_sent_after_it() -> None:
    t0 = NOW
    sent = [Sent(n, "sms", t0 + timedelta(days=n), frozenset({"sent"})) for n in (1, 3, 5, 6)]
    booked_at = t0 + timedelta(days=7)
    linked = LeadLedger("lead", sent=sent, conversions=[Converted(booked_at, None, None, touch=5)])
    assert [t.touch for t in linked.journey().touches] == [1, 3, 5]
    plain = LeadLedger("lead", sent=sent, conversions=[Converted(booked_at, None, None)])
    assert [t.touch for t in plain.journey().touches] == [1, 3, 5, 6]
    # A link of a touch that never reached the lead credits as usual.
    unknown = LeadLedger("lead", sent=sent, conversions=[Converted(booked_at, None, None, touch=4)])
    assert [t.touch for t in unknown.journey().touches] == [1, 3, 5, 6]
