"""Inbound email: replies and bounces forwarded by the mail provider's inbound parse, signed with
NUDGE_EMAIL_INBOUND_SECRET. A reply is a lead message like a WhatsApp one; a hard bounce fails the
email and sends the touch on the lead's next channel."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent import activity
from agent.contacts import ContactError, normalise_email
from agent.text import strip_controls
from agent.unsubscribe import token_in_subject
from api.deps import ClientLimitDep, RuntimeDep, SessionDep
from api.errors import LIMIT_RESPONSES, ApiError, describe_validation
from api.json_body import BoundedJsonRoute
from nudge.db import after_commit
from nudge.models import Business, Lead, Message
from nudge.signing import signature_problem
from scheduler.delivery import report_failure
from scheduler.inputs import receive_message, record_unsubscribe

router = APIRouter(
    route_class=BoundedJsonRoute,
    prefix="/webhooks/email",
    tags=["webhooks"],
    dependencies=[ClientLimitDep],
    responses=LIMIT_RESPONSES,
)


class InboundEmail(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    type: Literal["reply", "bounce"] = "reply"
    message_id: Annotated[str, Field(min_length=3, max_length=300)]
    sender: Annotated[str, Field(alias="from", min_length=3, max_length=400)]
    to: Annotated[str, Field(min_length=3, max_length=400)]
    subject: str = ""
    text: Annotated[str, Field(max_length=100_000)] = ""
    bounced_message_id: str | None = None  # bounce: the Message-ID of our email that bounced
    bounce_type: Literal["hard", "soft"] = "hard"
    diagnostic: Annotated[str, Field(max_length=1000)] = ""

    @field_validator("*", mode="before")
    @classmethod
    def _without_controls(cls, value: Any) -> Any:
        # A verified provider's data is stored, not refused: control characters are dropped.
        return strip_controls(value) if isinstance(value, str) else value


class Accepted(BaseModel):
    status: str  # stored | duplicate | unsubscribed | bounce_recorded | unknown_message


async def _raw_body(request: Request) -> bytes:
    return await request.body()


def _business_for_address(session: Session, address: str) -> Business | None:
    wanted = address.lower()
    for business in session.scalars(select(Business).where(Business.email_from.is_not(None))):
        if parseaddr(business.email_from or "")[1].lower() == wanted:
            return business
    return None


@router.post(
    "/inbound",
    response_model=Accepted,
    responses={
        400: {"description": "addresses that are not email addresses"},
        403: {"description": "missing, stale or wrong signature"},
        404: {"description": "no business sends from the To address"},
        422: {"description": "the body does not have the fields named"},
    },
)
def inbound_email(
    body: Annotated[bytes, Depends(_raw_body)],
    session: SessionDep,
    runtime: RuntimeDep,
    x_nudge_timestamp: Annotated[str | None, Header()] = None,
    x_nudge_signature: Annotated[str | None, Header()] = None,
) -> Accepted:
    # A plain def: storing the reply detects its language, work for a pool thread, not the event loop.
    now = runtime.clock.now()
    problem = signature_problem(runtime.settings.email_inbound_secret, x_nudge_timestamp, x_nudge_signature, body, now)
    if problem:
        raise ApiError(403, "bad_signature", problem)
    try:
        email = InboundEmail.model_validate_json(body)
    except ValidationError as exc:
        raise ApiError(422, "invalid", describe_validation(exc.errors())) from exc
    if email.type == "bounce":
        return _bounce(session, runtime, email)
    try:
        sender = normalise_email(parseaddr(email.sender)[1])
        to = normalise_email(parseaddr(email.to)[1])
    except ContactError as exc:
        raise ApiError(400, "bad_address", str(exc)) from exc
    token = token_in_subject(email.subject)
    if token is not None:  # the mailto: half of List-Unsubscribe
        known, lead_id = record_unsubscribe(session, token, now, "mailto")
        if known:
            if lead_id is not None:
                unsubscribed = lead_id
                after_commit(session, lambda: runtime.dispatcher.wake(unsubscribed))
            return Accepted(status="unsubscribed")
    business = _business_for_address(session, to)
    if business is None:
        raise ApiError(404, "unknown_address", f"no business sends email from {to}")
    lead_id = receive_message(
        session,
        business,
        channel="email",
        phone=None,
        email=sender,
        body=email.text.strip() or email.subject,
        provider_id=email.message_id.strip().strip("<>"),
        now=now,
    )
    if lead_id is None:
        return Accepted(status="duplicate")
    woken = lead_id
    after_commit(session, lambda: runtime.dispatcher.wake(woken))
    return Accepted(status="stored")


def _bounce(session: Session, runtime: RuntimeDep, email: InboundEmail) -> Accepted:
    bounced = (email.bounced_message_id or "").strip().strip("<>")
    message = session.scalars(select(Message).where(Message.provider_id == bounced)).first() if bounced else None
    if message is None:
        return Accepted(status="unknown_message")  # not ours, or erased: nothing to do, no retry wanted
    now = runtime.clock.now()
    if email.bounce_type == "soft":
        lead = session.get(Lead, message.lead_id)
        if lead is not None:
            activity.record(session, lead, now, "bounce", f"soft bounce: {email.diagnostic}"[:500], channel="email")
        return Accepted(status="bounce_recorded")
    lead_id = report_failure(session, message, "failed", "bounce", now, unreachable=True)
    if lead_id is not None:
        after_commit(session, lambda: runtime.dispatcher.wake(lead_id))
    return Accepted(status="bounce_recorded")
