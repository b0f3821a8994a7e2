"""Reading a verified delivery into one `BookingEvent`, whatever its shape.

A verified provider's data is never refused: what cannot be read becomes an `unreadable` event
(stored as sent, then looked at by a person); events that are not about a booking (Cal.com's
PING test, meeting started…) are `ignored`.

Fixture shapes follow the providers' documented examples:
- Cal.com: {"triggerEvent": "BOOKING_CREATED" | "BOOKING_RESCHEDULED" | "BOOKING_CANCELLED",
  "payload": {"uid", "rescheduleUid" (on a reschedule: the booking it replaces), "startTime",
  "endTime", "attendees": [{"name", "email", "phoneNumber"?}], "responses": {...},
  "metadata": {"nudge_ref"?}}}. Nudge's booking link adds `metadata[nudge_ref]=<token>`, which
  Cal.com copies into the booking's metadata.
- Calendly: {"event": "invitee.created" | "invitee.canceled", "payload": {"uri" (the invitee:
  the booking's identity), "email", "name", "text_reminder_number", "old_invitee" (created by a
  reschedule), "rescheduled" (canceled because rescheduled), "scheduled_event": {"start_time",
  "end_time"}, "tracking": {"utm_source", "utm_content"}}}. Nudge's booking link adds
  `utm_source=nudge&utm_content=<token>`.
- generic: {"event": "booking.created" | "booking.rescheduled" | "booking.cancelled", "uid",
  "previous_uid"?, "start_time"?, "end_time"?, "invitee": {"name", "email", "phone"}, "ref"?}.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from agent.text import strip_controls
from nudge.documents import DocumentError, loads_json

Action = Literal["created", "rescheduled", "cancelled", "superseded", "ignored", "unreadable"]
REF_PARAM = "nudge_ref"  # Cal.com metadata key and generic field carrying the tracked link's token
UTM_SOURCE = "nudge"
MAX_UID = 300


@dataclass(frozen=True)
class Invitee:
    name: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class BookingEvent:
    action: Action
    uid: str = ""
    previous_uid: str = ""  # the booking a reschedule replaces
    start_at: datetime | None = None
    end_at: datetime | None = None
    invitee: Invitee = field(default_factory=Invitee)
    ref: str = ""  # the token of the tracked link the invitee came through
    kind: str = ""  # the provider's own event name, for the record
    payload: dict[str, Any] = field(default_factory=dict)  # what was sent, control characters dropped


def _clean(value: Any, depth: int = 0) -> Any:
    if depth > 20:
        return None
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, dict):
        return {strip_controls(str(k)): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, depth + 1) for v in value]
    return value


def _text(value: Any, limit: int = 320) -> str:
    return strip_controls(value).strip()[:limit] if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def body_uid(body: bytes) -> str:
    """The identity of a delivery nothing else identifies: a retry of it is a duplicate."""
    return "body:" + hashlib.sha256(body).hexdigest()


def read_event(provider: str, body: bytes) -> BookingEvent:
    try:
        document = loads_json(body)  # bounded: depth, integer size, no infinities (PostgreSQL's JSON)
    except DocumentError:
        return BookingEvent(
            "unreadable", uid=body_uid(body), payload={"raw": strip_controls(body[:10_000].decode(errors="replace"))}
        )
    if not isinstance(document, dict):
        return BookingEvent("unreadable", uid=body_uid(body), payload={"raw": _clean(document)})
    cleaned = _clean(document)
    readers = {"calcom": _calcom, "calendly": _calendly}
    event = readers.get(provider, _generic)(cleaned)
    if event.action in ("created", "rescheduled", "cancelled", "superseded") and not event.uid:
        return BookingEvent("unreadable", uid=body_uid(body), kind=event.kind, payload=cleaned)
    return event


def _calcom(document: dict[str, Any]) -> BookingEvent:
    trigger = _text(document.get("triggerEvent"), 64)
    payload = _dict(document.get("payload"))
    actions: dict[str, Action] = {
        "BOOKING_CREATED": "created",
        "BOOKING_RESCHEDULED": "rescheduled",
        "BOOKING_CANCELLED": "cancelled",
    }
    action = actions.get(trigger, "ignored")
    attendees = payload.get("attendees")
    first = _dict(attendees[0]) if isinstance(attendees, list) and attendees else {}
    responses = _dict(payload.get("responses"))

    def answer(name: str) -> str:
        value = _dict(responses.get(name)).get("value")
        return _text(value)

    invitee = Invitee(
        name=_text(first.get("name"), 200) or answer("name"),
        email=_text(first.get("email")) or answer("email"),
        phone=_text(first.get("phoneNumber"), 40) or answer("attendeePhoneNumber") or answer("phone"),
    )
    return BookingEvent(
        action,
        uid=_text(payload.get("uid"), MAX_UID),
        previous_uid=_text(payload.get("rescheduleUid"), MAX_UID) if action == "rescheduled" else "",
        start_at=_instant(payload.get("startTime")),
        end_at=_instant(payload.get("endTime")),
        invitee=invitee,
        ref=_text(_dict(payload.get("metadata")).get(REF_PARAM), 64),
        kind=trigger,
        payload=document,
    )


def _calendly(document: dict[str, Any]) -> BookingEvent:
    name = _text(document.get("event"), 64)
    payload = _dict(document.get("payload"))
    scheduled = _dict(payload.get("scheduled_event"))
    tracking = _dict(payload.get("tracking"))
    old = _text(payload.get("old_invitee"), MAX_UID)
    action: Action
    if name == "invitee.created":
        action = "rescheduled" if old else "created"
    elif name == "invitee.canceled":
        # Calendly reschedules by cancelling the old invitee (rescheduled: true) and creating a new one.
        action = "superseded" if payload.get("rescheduled") is True else "cancelled"
    else:
        action = "ignored"
    return BookingEvent(
        action,
        uid=_text(payload.get("uri"), MAX_UID),
        previous_uid=old if action == "rescheduled" else "",
        start_at=_instant(scheduled.get("start_time")),
        end_at=_instant(scheduled.get("end_time")),
        invitee=Invitee(
            name=_text(payload.get("name"), 200),
            email=_text(payload.get("email")),
            phone=_text(payload.get("text_reminder_number"), 40),
        ),
        ref=_text(tracking.get("utm_content"), 64) if tracking.get("utm_source") == UTM_SOURCE else "",
        kind=name,
        payload=document,
    )


def _generic(document: dict[str, Any]) -> BookingEvent:
    name = _text(document.get("event"), 64)
    actions: dict[str, Action] = {
        "booking.created": "created",
        "booking.rescheduled": "rescheduled",
        "booking.cancelled": "cancelled",
    }
    action = actions.get(name, "ignored")
    invitee = _dict(document.get("invitee"))
    return BookingEvent(
        action,
        uid=_text(document.get("uid"), MAX_UID),
        previous_uid=_text(document.get("previous_uid"), MAX_UID) if action == "rescheduled" else "",
        start_at=_instant(document.get("start_time")),
        end_at=_instant(document.get("end_time")),
        invitee=Invitee(
            name=_text(invitee.get("name"), 200),
            email=_text(invitee.get("email")),
            phone=_text(invitee.get("phone"), 40),
        ),
        ref=_text(document.get("ref"), 64),
        kind=name,
        payload=document,
    )
