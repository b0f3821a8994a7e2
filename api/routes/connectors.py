"""CRM connectors configured through the API: HubSpot (private-app token) for now. A connector
subscribes to the business's domain events (`agent.crm.registry.EVENTS`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from agent.crm.registry import EVENTS
from api.deps import BusinessDep, RuntimeDep, SessionDep
from api.errors import ERROR_RESPONSES
from api.json_body import BoundedJsonRoute
from api.schemas import Strict
from nudge.models import Connector, EventDelivery

router = APIRouter(
    route_class=BoundedJsonRoute, prefix="/v1/connectors", tags=["CRM connectors"], responses=ERROR_RESPONSES
)

Token = Annotated[str, Field(min_length=8, max_length=200, pattern=r"^[A-Za-z0-9_\-.:]+$")]
Word = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_\-.]+$")]


class HubSpotIn(Strict):
    token: Token = Field(
        description="the private app's access token (scopes: crm.objects.contacts.write, crm.objects.deals.write)"
    )
    pipeline: Word = Field(default="default", description="the deal pipeline for conversions")
    deal_stage: Word = Field(default="closedwon", description="the deal stage a conversion sets")
    enabled: Annotated[bool, Field(strict=True)] = True


class ConnectorOut(BaseModel):
    id: str
    kind: str
    enabled: bool
    events: list[str]
    token_hint: str = Field(description="the token's last four characters; the token itself is never shown")
    pipeline: str
    deal_stage: str
    created_at: datetime
    updated_at: datetime


class ConnectorList(BaseModel):
    connectors: list[ConnectorOut]


def connector_out(connector: Connector) -> ConnectorOut:
    config = connector.config or {}
    return ConnectorOut(
        id=connector.id,
        kind=connector.kind,
        enabled=connector.enabled,
        events=list(config.get("events") or []),
        token_hint="…" + str(config.get("token", ""))[-4:],
        pipeline=str(config.get("pipeline", "")),
        deal_stage=str(config.get("deal_stage", "")),
        created_at=connector.created_at,
        updated_at=connector.updated_at,
    )


def _find(session: SessionDep, business_id: str, kind: str) -> Connector | None:
    query = sa.select(Connector).where(Connector.business_id == business_id, Connector.kind == kind)
    return session.scalars(query).first()


@router.put("/hubspot", response_model=ConnectorOut)
def put_hubspot(body: HubSpotIn, session: SessionDep, business: BusinessDep, runtime: RuntimeDep) -> ConnectorOut:
    """Create or replace the HubSpot connector: contacts, notes and deals follow the leads."""
    now = runtime.clock.now()
    config = {
        "token": body.token,
        "pipeline": body.pipeline,
        "deal_stage": body.deal_stage,
        "events": list(EVENTS["hubspot"]),
    }
    connector = _find(session, business.id, "hubspot")
    if connector is None:
        connector = Connector(business_id=business.id, kind="hubspot", created_at=now)
        session.add(connector)
    connector.config, connector.enabled, connector.updated_at = config, body.enabled, now
    session.flush()
    return connector_out(connector)


@router.get("", response_model=ConnectorList)
def list_connectors(session: SessionDep, business: BusinessDep) -> ConnectorList:
    query = sa.select(Connector).where(Connector.business_id == business.id).order_by(Connector.created_at)
    return ConnectorList(connectors=[connector_out(c) for c in session.scalars(query)])


@router.delete("/hubspot", status_code=204, response_class=Response)
def delete_hubspot(session: SessionDep, business: BusinessDep) -> Response:
    """Stop syncing (no connector: nothing to do); what is already in HubSpot stays there."""
    connector = _find(session, business.id, "hubspot")
    if connector is not None:
        session.execute(
            sa.delete(EventDelivery)
            .where(EventDelivery.business_id == business.id, EventDelivery.subscriber_id == connector.id)
            .execution_options(synchronize_session=False)
        )
        session.delete(connector)
    return Response(status_code=204)
