"""Twilio webhooks: inbound WhatsApp/SMS messages and delivery status callbacks.

Both answer Twilio at once; the agent's work happens in the dispatcher, outside the request.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from agent.contacts import ContactError, provider_phone
from agent.text import strip_controls
from api.deps import ClientLimitDep, RuntimeDep
from api.errors import LIMIT_RESPONSES, ApiError
from api.json_body import BoundedJsonRoute
from api.twilio_auth import signature_valid
from nudge.db import after_commit, transaction
from nudge.models import Message
from scheduler import mailbox
from scheduler.delivery import apply_status, report_failure
from scheduler.inputs import business_for_number, receive_message

router = APIRouter(
    route_class=BoundedJsonRoute,
    prefix="/webhooks/twilio",
    tags=["webhooks"],
    dependencies=[ClientLimitDep],
    responses=LIMIT_RESPONSES,
)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
_FORM = "application/x-www-form-urlencoded"
_MAX_FIELDS = 1000  # Starlette's form parser's limit
_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/xml": {}}, "description": "empty TwiML: Twilio needs nothing more"},
    400: {"description": "missing or malformed fields"},
    403: {"description": "the X-Twilio-Signature does not match"},
    404: {"description": "no business owns the To number"},
    415: {"description": "not form-encoded"},
}


def twiml() -> Response:
    return Response(EMPTY_TWIML, media_type="text/xml")


def form_fields(body: bytes) -> dict[str, str]:
    """An urlencoded body's fields, decoded as Starlette's form parser decodes them (latin-1 bytes,
    then %-escapes as UTF-8; the last of a repeated name wins), without its per-byte callbacks:
    every inbound message and status callback is one of these."""
    try:
        pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True, max_num_fields=_MAX_FIELDS)
    except ValueError as exc:
        raise ApiError(400, "bad_form", f"too many form fields (at most {_MAX_FIELDS})") from exc
    return dict(pairs)


async def signed_form(request: Request, runtime: RuntimeDep) -> dict[str, str]:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(_FORM):
        raise ApiError(415, "unsupported_media_type", f"Twilio webhooks are {_FORM}, not '{content_type}'")
    body = await request.body()

    def verified() -> dict[str, str]:
        params = form_fields(body)
        if not signature_valid(request, params, runtime.settings):
            raise ApiError(403, "bad_signature", "X-Twilio-Signature does not match this request")
        # Signed over the values as sent; stored without control characters (PostgreSQL refuses NUL).
        return {name: strip_controls(value) for name, value in params.items()}

    # On a pool thread: decoding a large body takes long enough to hold up every other request.
    return await run_in_threadpool(verified)


def _channel_and_number(address: str) -> tuple[str, str]:
    """The number as Twilio gave it (E.164 when it reads as one): a verified sender is never
    refused for its format (Mexico's +52 1…), and replies go back to exactly this address."""
    return ("whatsapp" if address.startswith("whatsapp:") else "sms"), provider_phone(address)


@router.post("/inbound", responses=_RESPONSES, response_class=Response)
async def inbound(
    request: Request, runtime: RuntimeDep, x_twilio_signature: Annotated[str | None, Header()] = None
) -> Response:
    params = await signed_form(request, runtime)
    missing = [name for name in ("MessageSid", "From", "To") if not params.get(name)]
    if missing:
        raise ApiError(400, "missing_fields", f"missing {', '.join(missing)}")
    try:
        channel, sender = _channel_and_number(params["From"])
        _, receiver = _channel_and_number(params["To"])
    except ContactError as exc:
        raise ApiError(400, "bad_number", str(exc)) from exc
    body = params.get("Body", "")
    if not body.strip() and params.get("NumMedia", "0") != "0":
        body = "[media]"
    sid = params["MessageSid"]

    def store() -> None:
        with transaction(runtime.sessions) as session:
            business = business_for_number(session, channel, receiver)
            if business is None:
                raise ApiError(404, "unknown_number", f"no business uses {receiver} for {channel}")
            lead_id = receive_message(
                session,
                business,
                channel=channel,
                phone=sender,
                body=body,
                provider_id=sid,
                now=runtime.clock.now(),
                profile_name=params.get("ProfileName", ""),
                hold=mailbox.BurstHold(
                    quiet=timedelta(seconds=runtime.settings.inbound_quiet_seconds),
                    max_hold=timedelta(seconds=runtime.settings.inbound_max_hold_seconds),
                ),
            )
            if lead_id is not None:
                runtime.metrics.inbound.labels(channel).inc()
                after_commit(session, lambda: runtime.dispatcher.wake(lead_id))

    with suppress(IntegrityError):  # the same MessageSid raced in twice: the first one stored it
        await run_in_threadpool(store)
    return twiml()


@router.post("/status", responses=_RESPONSES, response_class=Response)
async def status(
    request: Request, runtime: RuntimeDep, x_twilio_signature: Annotated[str | None, Header()] = None
) -> Response:
    params = await signed_form(request, runtime)
    sid, new_status = params.get("MessageSid"), params.get("MessageStatus", "").lower()
    if not sid or not new_status:
        raise ApiError(400, "missing_fields", "MessageSid and MessageStatus are required")

    def apply() -> None:
        with transaction(runtime.sessions) as session:
            message = session.scalars(select(Message).where(Message.provider_id == sid)).first()
            if message is None:
                return  # not ours (or already erased): nothing to update, and Twilio must not retry
            now = runtime.clock.now()
            if new_status not in ("failed", "undelivered"):
                apply_status(message, new_status, now)
                return
            code = params.get("ErrorCode") or None
            lead_id = report_failure(session, message, new_status, code, now, unreachable=code in ("63003", "63024"))
            if lead_id is not None:
                after_commit(session, lambda: runtime.dispatcher.wake(lead_id))

    await run_in_threadpool(apply)
    return twiml()
