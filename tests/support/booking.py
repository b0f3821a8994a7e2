"""Booking webhooks as Cal.com, Calendly and a generic tool send them: payloads shaped like the
providers' documented examples, signed the way each provider signs (written here from the
providers' docs, independently of Nudge's verification code)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from nudge.signing import sign as nudge_sign


def calcom_body(
    trigger: str,
    uid: str,
    *,
    email: str = "john.doe@example.com",
    name: str = "John Doe",
    start: str = "2026-12-20T09:30:00Z",
    end: str = "2026-12-20T10:00:00Z",
    reschedule_uid: str | None = None,
    metadata: dict[str, str] | None = None,
    phone: str | None = None,
) -> dict[str, Any]:
    attendee: dict[str, Any] = {
        "email": email,
        "name": name,
        "timeZone": "America/Sao_Paulo",
        "language": {"locale": "en"},
    }
    if phone:
        attendee["phoneNumber"] = phone
    payload: dict[str, Any] = {
        "type": "30min",
        "title": f"30 Min Meeting between Pro Example and {name}",
        "description": "",
        "additionalNotes": "",
        "customInputs": {},
        "startTime": start,
        "endTime": end,
        "organizer": {
            "id": 5,
            "name": "Pro Example",
            "email": "pro@example.com",
            "username": "pro",
            "timeZone": "Asia/Kolkata",
            "language": {"locale": "en"},
            "timeFormat": "h:mma",
        },
        "responses": {
            "name": {"label": "your_name", "value": name},
            "email": {"label": "email_address", "value": email},
            "location": {"label": "location", "value": {"optionValue": "", "value": "inPerson"}},
        },
        "userFieldsResponses": {},
        "attendees": [attendee],
        "location": "Calcom HQ",
        "destinationCalendar": None,
        "hideCalendarNotes": False,
        "requiresConfirmation": None,
        "eventTypeId": 7,
        "seatsShowAttendees": True,
        "seatsPerTimeSlot": None,
        "uid": uid,
        "appsStatus": [],
        "eventTitle": "30min",
        "eventDescription": "",
        "price": 0,
        "currency": "usd",
        "length": 30,
        "bookingId": 91,
        "metadata": metadata or {},
        "status": "CANCELLED" if trigger == "BOOKING_CANCELLED" else "ACCEPTED",
    }
    if reschedule_uid:
        payload["rescheduleUid"] = reschedule_uid
    if trigger == "BOOKING_CANCELLED":
        payload["cancellationReason"] = "Something came up"
    return {"triggerEvent": trigger, "createdAt": "2026-12-07T09:36:24.174Z", "payload": payload}


def calendly_body(
    event: str,
    invitee_uri: str,
    *,
    email: str = "test@example.com",
    name: str = "John Doe",
    start: str = "2026-12-21T18:00:00.000000Z",
    end: str = "2026-12-21T18:30:00.000000Z",
    old_invitee: str | None = None,
    rescheduled: bool = False,
    utm_source: str | None = None,
    utm_content: str | None = None,
    text_reminder_number: str | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "cancel_url": "https://calendly.com/cancellations/AAAAAAAAAAAAAAAA",
        "created_at": "2026-12-07T17:51:18.327602Z",
        "email": email,
        "event": "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2",
        "first_name": name.split()[0],
        "last_name": name.split()[-1],
        "name": name,
        "new_invitee": None,
        "old_invitee": old_invitee,
        "questions_and_answers": [],
        "reschedule_url": "https://calendly.com/reschedulings/AAAAAAAAAAAAAAAA",
        "rescheduled": rescheduled,
        "routing_form_submission": None,
        "scheduled_event": {
            "created_at": "2026-12-07T17:51:18.341657Z",
            "end_time": end,
            "event_guests": [],
            "event_memberships": [{"user": "https://api.calendly.com/users/GBGBDCAADAEDCRZ2"}],
            "event_type": "https://api.calendly.com/event_types/GBGBDCAADAEDCRZ2",
            "invitees_counter": {"active": 1, "limit": 1, "total": 1},
            "location": {"location": "string", "type": "physical"},
            "name": "15 Minute Meeting",
            "start_time": start,
            "status": "active",
            "updated_at": "2026-12-07T17:51:18.341657Z",
            "uri": "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2",
        },
        "status": "canceled" if event == "invitee.canceled" else "active",
        "text_reminder_number": text_reminder_number,
        "timezone": "America/New_York",
        "tracking": {
            "utm_campaign": None,
            "utm_source": utm_source,
            "utm_medium": None,
            "utm_content": utm_content,
            "utm_term": None,
            "salesforce_uuid": None,
        },
        "updated_at": "2026-12-07T17:51:18.341657Z",
        "uri": invitee_uri,
        "payment": None,
        "no_show": None,
        "reconfirmation": None,
    }
    if event == "invitee.canceled":
        payload["cancellation"] = {
            "canceled_by": name,
            "reason": "rescheduled" if rescheduled else "Something came up",
            "canceler_type": "invitee",
            "created_at": "2026-12-07T18:00:00.000000Z",
        }
    return {
        "created_at": "2026-12-07T17:51:19.000000Z",
        "created_by": "https://api.calendly.com/users/AAAAAAAAAAAAAAAA",
        "event": event,
        "payload": payload,
    }


def calcom_headers(secret: str, body: bytes) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Cal-Signature-256": digest}


def calendly_headers(secret: str, body: bytes, *, at: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "Calendly-Webhook-Signature": f"t={stamp},v1={digest}"}


def generic_headers(secret: str, body: bytes, *, at: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if at is None else at
    return {
        "Content-Type": "application/json",
        "X-Nudge-Timestamp": str(stamp),
        "X-Nudge-Signature": nudge_sign(secret, stamp, body),
    }


def post_booking(
    client: httpx.Client, integration_id: str, provider: str, secret: str, document: Any, **sign_options: Any
) -> httpx.Response:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    signer = {"calcom": calcom_headers, "calendly": calendly_headers, "generic": generic_headers}[provider]
    return client.post(
        f"/webhooks/booking/{integration_id}", content=body, headers=signer(secret, body, **sign_options)
    )
