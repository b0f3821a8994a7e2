"""Booking: calendar integrations configured per business, and the signed webhooks they post.

`POST /webhooks/booking/{integration_id}` takes Cal.com, Calendly and generic deliveries; each is
verified as its provider signs (`agent.booking.signatures`), stored, then applied
(`agent.booking.store`): a 2xx for anything verified, even a booking of an unknown invitee.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from agent.booking.events import read_event
from agent.booking.signatures import PROVIDERS, signature_problem_for
from agent.booking.store import apply_event
from api.deps import BusinessDep, ClientLimitDep, RuntimeDep, SessionDep
from api.errors import ERROR_RESPONSES, LIMIT_RESPONSES, ApiError, not_found
from api.json_body import BoundedJsonRoute
from api.schemas import WHOLE_NUMBER, Strict
from nudge.db import TENANT_KEY, after_commit
from nudge.models import Booking, BookingIntegration, Lead
from scheduler import mailbox

router = APIRouter(route_class=BoundedJsonRoute, responses=ERROR_RESPONSES)

Provider = Literal["calcom", "calendly", "generic"]
IntegrationPath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$")]
SecretText = Annotated[str, Field(min_length=16, max_length=200, pattern=r"^[\x21-\x7e]+$")]
MAX_GRACE_SECONDS = 86_400


class IntegrationIn(Strict):
    provider: Provider
    secret: SecretText | None = Field(
        default=None,
        description="the signing secret, when the tool chose it (a Calendly OAuth app's signing key); "
        "otherwise Nudge makes one",
    )


class RotateIn(Strict):
    secret: SecretText | None = None
    grace_seconds: Annotated[int, Field(ge=0, le=MAX_GRACE_SECONDS), WHOLE_NUMBER] = Field(
        default=3600, description="how long the old secret still verifies (0: refused at once, after a leak)"
    )


class IntegrationOut(BaseModel):
    id: str
    provider: str
    webhook_url: str
    created_at: datetime
    rotated_at: datetime | None
    previous_secret_valid_until: datetime | None


class IntegrationCreated(IntegrationOut):
    secret: str = Field(description="the signing secret: shown now and at rotation only")


class IntegrationList(BaseModel):
    integrations: list[IntegrationOut]


class BookingOut(BaseModel):
    id: str
    provider: str
    uid: str
    status: str
    lead_id: str | None
    touch: int | None
    matched_by: str
    start_at: datetime | None
    end_at: datetime | None
    invitee: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class BookingList(BaseModel):
    bookings: list[BookingOut]


class WebhookAccepted(BaseModel):
    status: str  # booked | rescheduled | cancelled | stored | duplicate | ignored
    booking_id: str | None = None
    lead_id: str | None = None


def _out(row: BookingIntegration, public_url: str, now: datetime) -> dict[str, Any]:
    until = row.previous_until if row.previous_secret and row.previous_until and row.previous_until > now else None
    return {
        "id": row.id,
        "provider": row.provider,
        "webhook_url": f"{public_url}/webhooks/booking/{row.id}",
        "created_at": row.created_at,
        "rotated_at": row.rotated_at,
        "previous_secret_valid_until": until,
    }


def _integration(session: SessionDep, integration_id: str) -> BookingIntegration:
    row = session.get(BookingIntegration, integration_id)
    if row is None:
        raise not_found("booking integration")
    return row


@router.post("/v1/booking-integrations", tags=["booking"], status_code=201, response_model=IntegrationCreated)
def create_integration(
    body: IntegrationIn, session: SessionDep, business: BusinessDep, runtime: RuntimeDep
) -> IntegrationCreated:
    now = runtime.clock.now()
    row = BookingIntegration(
        business_id=business.id,
        provider=body.provider,
        secret=body.secret or secrets.token_urlsafe(32),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return IntegrationCreated(**_out(row, runtime.settings.public_url, now), secret=row.secret)


@router.get("/v1/booking-integrations", tags=["booking"], response_model=IntegrationList)
def list_integrations(session: SessionDep, business: BusinessDep, runtime: RuntimeDep) -> IntegrationList:
    now = runtime.clock.now()
    rows = session.scalars(sa.select(BookingIntegration).order_by(BookingIntegration.created_at, BookingIntegration.id))
    return IntegrationList(integrations=[IntegrationOut(**_out(r, runtime.settings.public_url, now)) for r in rows])


@router.post("/v1/booking-integrations/{integration_id}/rotate", tags=["booking"], response_model=IntegrationCreated)
def rotate_integration(
    integration_id: IntegrationPath, body: RotateIn, session: SessionDep, business: BusinessDep, runtime: RuntimeDep
) -> IntegrationCreated:
    row = _integration(session, integration_id)
    now = runtime.clock.now()
    new_secret = body.secret or secrets.token_urlsafe(32)
    if new_secret == row.secret:
        raise ApiError(400, "same_secret", "the new secret must differ from the current one")
    row.previous_secret = row.secret if body.grace_seconds else None
    row.previous_until = now + timedelta(seconds=body.grace_seconds) if body.grace_seconds else None
    row.secret, row.rotated_at = new_secret, now
    return IntegrationCreated(**_out(row, runtime.settings.public_url, now), secret=new_secret)


@router.delete("/v1/booking-integrations/{integration_id}", tags=["booking"], status_code=204, response_class=Response)
def delete_integration(integration_id: IntegrationPath, session: SessionDep, business: BusinessDep) -> Response:
    session.delete(_integration(session, integration_id))
    return Response(status_code=204)


@router.get("/v1/bookings", tags=["booking"], response_model=BookingList)
def list_bookings(
    session: SessionDep,
    business: BusinessDep,
    lead_id: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    status: Annotated[Literal["booked", "rescheduled", "cancelled", "unreadable"] | None, Query()] = None,
) -> BookingList:
    """The latest 200 bookings, unmatched ones included (lead_id null: no lead had the invitee's
    email or phone)."""
    query = sa.select(Booking).order_by(Booking.updated_at.desc(), Booking.id).limit(200)
    if lead_id is not None:
        query = query.where(Booking.lead_id == lead_id)
    if status is not None:
        query = query.where(Booking.status == status)
    return BookingList(
        bookings=[
            BookingOut(
                id=b.id,
                provider=b.provider,
                uid=b.uid,
                status=b.status,
                lead_id=b.lead_id,
                touch=b.touch,
                matched_by=b.matched_by,
                start_at=b.start_at,
                end_at=b.end_at,
                invitee=b.invitee,
                created_at=b.created_at,
                updated_at=b.updated_at,
            )
            for b in session.scalars(query)
        ]
    )


async def _raw_body(request: Request) -> bytes:
    return await request.body()


@router.post(
    "/webhooks/booking/{integration_id}",
    tags=["webhooks"],
    dependencies=[ClientLimitDep],
    response_model=WebhookAccepted,
    responses={
        **LIMIT_RESPONSES,
        401: {"description": "missing, stale or wrong signature"},
        404: {"description": "no such integration"},
    },
)
def booking_webhook(
    integration_id: IntegrationPath,
    request: Request,
    body: Annotated[bytes, Depends(_raw_body)],
    session: SessionDep,
    runtime: RuntimeDep,
) -> WebhookAccepted:
    now = runtime.clock.now()
    integration = session.get(BookingIntegration, integration_id)
    if integration is None or integration.provider not in PROVIDERS:
        raise not_found("booking integration")
    secrets_now = [integration.secret]
    if integration.previous_secret and integration.previous_until and integration.previous_until > now:
        secrets_now.append(integration.previous_secret)
    headers = {name.lower(): value for name, value in request.headers.items()}
    problem = signature_problem_for(integration.provider, secrets_now, headers, body, now)
    if problem:
        raise ApiError(401, "bad_signature", problem)
    session.info[TENANT_KEY] = integration.business_id
    event = read_event(integration.provider, body)
    try:
        with session.begin_nested():
            applied = apply_event(session, integration, event, now)
    except IntegrityError:
        # The provider delivered the same booking twice at once (a retry racing the first try):
        # the other request stored it; this one changes nothing.
        return WebhookAccepted(status="duplicate")
    if applied.signal is not None and applied.lead_id is not None:
        lead = session.get(Lead, applied.lead_id)
        if lead is not None and mailbox.enqueue(
            session, lead=lead, kind="signal", dedupe_key=applied.signal_key, now=now, payload=applied.signal
        ):
            woken = lead.id
            after_commit(session, lambda: runtime.dispatcher.wake(woken))
    return WebhookAccepted(status=applied.status, booking_id=applied.booking_id, lead_id=applied.lead_id)
