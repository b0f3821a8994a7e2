"""The decisions behind outbound events, as plain functions: Standard Webhooks signatures (checked
against the `standardwebhooks` library), subscriber filters, Retry-After, when to retry and when
a delivery is dead."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from agent.events import signing
from agent.events.log import EVENT_TYPES, wants
from agent.events.subscriber import DeliveryError, Envelope, retry_after_seconds
from scheduler.events import RETRY_FOR, next_attempt, retry_delay

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_signatures_are_the_librarys_and_both_secrets_sign_during_a_rotation() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    assert old.startswith("whsec_") and old != new
    body = Envelope("evt_1", "lead.created", NOW, "biz_1", "lead_1", {"lead": {"name": "Zoë"}}).body()
    headers = signing.headers([new, old], "evt_1", NOW, body)
    assert headers["webhook-id"] == "evt_1" and headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    first, second = headers["webhook-signature"].split(" ")
    assert first == Webhook(new).sign("evt_1", NOW, body) and second == Webhook(old).sign("evt_1", NOW, body)


def test_the_body_is_the_same_bytes_on_every_attempt() -> None:
    event = Envelope("evt_1", "lead.converted", NOW, "biz_1", "lead_1", {"value": 10.5, "b": [1], "a": "ñ"})
    assert event.body() == event.body()
    expected = '{"data":{"a":"ñ","b":[1],"value":10.5},"timestamp":"2026-12-07T12:00:00+00:00","type":"lead.converted"}'
    assert event.body() == expected.encode()


@pytest.mark.parametrize(
    ("filter_", "event_type", "expected"),
    [
        ([], "message.sent", True),
        (None, "lead.created", True),
        (["lead.created"], "lead.created", True),
        (["lead.created"], "message.sent", False),
    ],
)
def test_an_empty_filter_takes_every_type(filter_: list[str] | None, event_type: str, expected: bool) -> None:
    assert event_type in EVENT_TYPES
    assert wants(filter_, event_type) is expected


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_seconds("7", NOW) == 7.0
    assert retry_after_seconds("Mon, 07 Dec 2026 12:00:30 GMT", NOW) == 30.0
    assert retry_after_seconds("Mon, 07 Dec 2026 11:00:00 GMT", NOW) == 0.0
    assert retry_after_seconds("99999999", NOW) == 86_400.0
    assert retry_after_seconds("soon", NOW) is None and retry_after_seconds(None, NOW) is None


def test_retries_back_off_exponentially_and_stop_after_a_day() -> None:
    rng = random.Random(1)
    delays = [retry_delay(attempt, rng) for attempt in range(1, 12)]
    assert timedelta(seconds=30) <= delays[0] < timedelta(minutes=1)
    assert all(d <= timedelta(hours=4) for d in delays) and delays[8] > delays[2] * 8
    error = DeliveryError("answered 500", status=500)
    assert next_attempt(NOW, NOW, 1, error, rng) is not None
    assert next_attempt(NOW - RETRY_FOR + timedelta(minutes=1), NOW, 9, error, rng) is None, "past a day: dead"
    assert next_attempt(NOW, NOW, 1, DeliveryError("refused", final=True), rng) is None
    asked = DeliveryError("429", status=429, retry_after=7)
    assert next_attempt(NOW, NOW, 1, asked, rng) == NOW + timedelta(seconds=7)
