"""Outbound webhooks (Standard Webhooks): a business's endpoints, their secrets, delivery log and
replay. The events themselves are logged where they happen (`agent.events.log`) and delivered by
`scheduler.events`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field, field_validator

from agent.events.log import EVENT_TYPES
from agent.events.signing import new_secret
from agent.outbound_urls import TargetPolicy, check_targets
from api.deps import BusinessDep, RuntimeDep, SessionDep
from api.errors import ERROR_RESPONSES, not_found
from api.json_body import BoundedJsonRoute
from api.schemas import WEB_URL, WHOLE_NUMBER, Instant, Strict
from nudge.ids import new_id
from nudge.models import DomainEvent, EventDelivery, WebhookEndpoint

router = APIRouter(
    route_class=BoundedJsonRoute, prefix="/v1/webhook-endpoints", tags=["outbound webhooks"], responses=ERROR_RESPONSES
)

EventType = Literal[
    "lead.created",
    "lead.stage_changed",
    "lead.escalated",
    "handoff.claimed",
    "handoff.resolved",
    "lead.converted",
    "lead.opted_out",
    "message.sent",
    "message.failed",
]
assert set(EventType.__args__) == set(EVENT_TYPES)  # type: ignore[attr-defined]
EndpointId = Annotated[str, Path(min_length=1, max_length=40)]
Url = Annotated[str, Field(max_length=2000, pattern=WEB_URL)]
Events = Annotated[list[EventType], Field(max_length=len(EVENT_TYPES), description="event types; empty for all")]
REPLAY_LIMIT = 10_000


class EndpointIn(Strict):
    url: Url
    events: Events = []  # noqa: RUF012 (pydantic copies it)
    description: Annotated[str, Field(max_length=200)] = ""


class EndpointPatch(Strict):
    url: Url | None = None
    events: Events | None = None
    description: Annotated[str | None, Field(max_length=200)] = None
    enabled: Annotated[bool | None, Field(strict=True)] = None


class RotateIn(Strict):
    overlap_seconds: Annotated[
        int, Field(ge=0, le=7 * 86_400, description="how long the old secret keeps signing too"), WHOLE_NUMBER
    ] = 86_400


class ReplayIn(Strict):
    since: Instant = Field(description="replay deliveries created at or after this time")
    until: Instant | None = Field(default=None, description="…and before this time (default: now)")
    status: Literal["dead", "all"] = Field(default="dead", description="only dead-lettered ones, or delivered ones too")

    @field_validator("since", "until", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        # pydantic would read a number as a Unix time; the schema says an RFC 3339 string.
        if value is not None and not isinstance(value, str):
            raise ValueError("must be a date-time string like 2026-01-01T00:00:00Z")
        return value


class EndpointOut(BaseModel):
    id: str
    url: str
    description: str
    events: list[str]
    enabled: bool
    previous_secret_until: datetime | None = Field(description="while set and ahead, the old secret signs too")
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(description="the `whsec_` signing secret: shown once, never again")


class EndpointList(BaseModel):
    endpoints: list[EndpointOut]


class DeliveryOut(BaseModel):
    id: str
    event_id: str = Field(description="the `webhook-id`, the same on every attempt")
    event_type: str
    lead_id: str | None
    status: Literal["pending", "sending", "delivered", "dead"]
    attempts: int
    response_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]


class Replayed(BaseModel):
    replayed: int


def endpoint_out(endpoint: WebhookEndpoint) -> EndpointOut:
    return EndpointOut(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        events=list(endpoint.events or []),
        enabled=endpoint.enabled,
        previous_secret_until=endpoint.previous_secret_until,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def _endpoint(session: SessionDep, endpoint_id: str) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)  # the tenant filter: another's is not found
    if endpoint is None:
        raise not_found("webhook endpoint")
    return endpoint


def _unique(events: list[EventType]) -> list[str]:
    return sorted(set(events))


@router.post("", status_code=201, response_model=EndpointCreated)
def create(body: EndpointIn, session: SessionDep, business: BusinessDep, runtime: RuntimeDep) -> EndpointCreated:
    """A new endpoint; the answer holds its signing secret, once."""
    check_targets([("url", body.url)], TargetPolicy.from_settings(runtime.settings))
    now = runtime.clock.now()
    endpoint = WebhookEndpoint(
        business_id=business.id,
        url=body.url,
        description=body.description,
        events=_unique(body.events),
        secret=new_secret(),
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    session.flush()
    return EndpointCreated(**endpoint_out(endpoint).model_dump(), secret=endpoint.secret)


@router.get("", response_model=EndpointList)
def list_endpoints(session: SessionDep, business: BusinessDep) -> EndpointList:
    query = sa.select(WebhookEndpoint).where(WebhookEndpoint.business_id == business.id)
    return EndpointList(
        endpoints=[endpoint_out(e) for e in session.scalars(query.order_by(WebhookEndpoint.created_at))]
    )


@router.get("/{endpoint_id}", response_model=EndpointOut)
def read(endpoint_id: EndpointId, session: SessionDep, business: BusinessDep) -> EndpointOut:
    return endpoint_out(_endpoint(session, endpoint_id))


@router.patch("/{endpoint_id}", response_model=EndpointOut)
def update(
    endpoint_id: EndpointId, body: EndpointPatch, session: SessionDep, business: BusinessDep, runtime: RuntimeDep
) -> EndpointOut:
    endpoint = _endpoint(session, endpoint_id)
    if body.url is not None:
        check_targets([("url", body.url)], TargetPolicy.from_settings(runtime.settings))
        endpoint.url = body.url
    if body.events is not None:
        endpoint.events = _unique(body.events)
    if body.description is not None:
        endpoint.description = body.description
    if body.enabled is not None:
        endpoint.enabled = body.enabled
    endpoint.updated_at = runtime.clock.now()
    return endpoint_out(endpoint)


@router.delete("/{endpoint_id}", status_code=204, response_class=Response)
def delete(endpoint_id: EndpointId, session: SessionDep, business: BusinessDep) -> Response:
    """The endpoint and its delivery log; nothing more is sent to it."""
    endpoint = _endpoint(session, endpoint_id)
    session.execute(
        sa.delete(EventDelivery)
        .where(EventDelivery.business_id == business.id, EventDelivery.subscriber_id == endpoint.id)
        .execution_options(synchronize_session=False)
    )
    session.delete(endpoint)
    return Response(status_code=204)


@router.post("/{endpoint_id}/rotate-secret", response_model=EndpointCreated)
def rotate_secret(
    endpoint_id: EndpointId, body: RotateIn, session: SessionDep, business: BusinessDep, runtime: RuntimeDep
) -> EndpointCreated:
    """A new secret (shown once). For `overlap_seconds` every delivery carries two signatures, the
    new one and the old one, so receivers can switch at their pace."""
    endpoint = _endpoint(session, endpoint_id)
    now = runtime.clock.now()
    endpoint.previous_secret = endpoint.secret if body.overlap_seconds else None
    endpoint.previous_secret_until = now + timedelta(seconds=body.overlap_seconds) if body.overlap_seconds else None
    endpoint.secret, endpoint.updated_at = new_secret(), now
    return EndpointCreated(**endpoint_out(endpoint).model_dump(), secret=endpoint.secret)


@router.get("/{endpoint_id}/deliveries", response_model=DeliveryList)
def deliveries(
    endpoint_id: EndpointId,
    session: SessionDep,
    business: BusinessDep,
    status: Annotated[Literal["pending", "sending", "delivered", "dead"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryList:
    """The delivery log, newest first."""
    endpoint = _endpoint(session, endpoint_id)
    query = (
        sa.select(EventDelivery, DomainEvent.id, DomainEvent.type)
        .join(DomainEvent, DomainEvent.seq == EventDelivery.event_seq)
        .where(EventDelivery.business_id == business.id, EventDelivery.subscriber_id == endpoint.id)
    )
    if status is not None:
        query = query.where(EventDelivery.status == status)
    rows = session.execute(query.order_by(EventDelivery.created_at.desc(), EventDelivery.event_seq.desc()).limit(limit))
    return DeliveryList(
        deliveries=[
            DeliveryOut(
                id=row.id,
                event_id=event_id,
                event_type=event_type,
                lead_id=row.lead_id,
                status=row.status,
                attempts=row.attempts,
                response_status=row.response_status,
                last_error=row.last_error,
                next_attempt_at=row.available_at if row.status == "pending" else None,
                created_at=row.created_at,
                delivered_at=row.delivered_at,
            )
            for row, event_id, event_type in rows
        ]
    )


@router.post("/{endpoint_id}/replay", status_code=202, response_model=Replayed)
def replay(
    endpoint_id: EndpointId, body: ReplayIn, session: SessionDep, business: BusinessDep, runtime: RuntimeDep
) -> Replayed:
    """Send again, with their original `webhook-id`, the events this endpoint was sent in the
    window: dead-lettered ones, or (`status: all`) delivered ones too."""
    endpoint = _endpoint(session, endpoint_id)
    now = runtime.clock.now()
    statuses = ("dead",) if body.status == "dead" else ("dead", "delivered")
    query = sa.select(EventDelivery.event_seq, EventDelivery.lead_id).where(
        EventDelivery.business_id == business.id,
        EventDelivery.subscriber_id == endpoint.id,
        EventDelivery.status.in_(statuses),
        EventDelivery.created_at >= body.since,
        EventDelivery.created_at < (body.until or now),
    )
    unfinished = set(
        session.scalars(
            sa.select(EventDelivery.event_seq).where(
                EventDelivery.business_id == business.id,
                EventDelivery.subscriber_id == endpoint.id,
                EventDelivery.status.in_(("pending", "sending")),
            )
        )
    )
    rows: dict[int, Any] = {}
    for seq, lead_id in session.execute(query.order_by(EventDelivery.event_seq).limit(REPLAY_LIMIT)):
        if seq not in unfinished:
            rows.setdefault(seq, lead_id)  # an event delivered twice already is replayed once
    for seq, lead_id in rows.items():
        session.add(
            EventDelivery(
                id=new_id("dlv"),
                business_id=business.id,
                event_seq=seq,
                subscriber_id=endpoint.id,
                lead_id=lead_id,
                status="pending",
                attempts=0,
                available_at=now,
                created_at=now,
                updated_at=now,
            )
        )
    return Replayed(replayed=len(rows))
