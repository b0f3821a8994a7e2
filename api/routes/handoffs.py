"""Sales reps and the handoffs they work: list, claim, reply, resolve."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, field_validator, model_validator

from agent.contacts import ContactError, normalise_email, normalise_phone
from agent.outbound_urls import TargetPolicy, check_targets
from api import handoff_actions as actions
from api.deps import BusinessDep, HandoffBusinessDep, PrincipalDep, RuntimeDep, SessionDep
from api.errors import ERROR_RESPONSES, ApiError, not_found
from api.json_body import BoundedJsonRoute
from api.schemas import WEB_URL, Strict
from nudge.models import Handoff, Rep

router = APIRouter(route_class=BoundedJsonRoute, tags=["reps and handoffs"], responses=ERROR_RESPONSES)
_CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "the handoff is not in a state that allows this"}}


class RepIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    phone: str | None = None
    email: str | None = None
    webhook_url: Annotated[str | None, Field(max_length=2000, pattern=WEB_URL)] = None
    industries: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=50)] = []  # noqa: RUF012 (pydantic copies it)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        try:
            return normalise_phone(value) if value else None
        except ContactError as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        try:
            return normalise_email(value) if value else None
        except ContactError as exc:
            raise ValueError(str(exc)) from exc


class RepOut(BaseModel):
    id: str
    name: str
    phone: str | None
    email: str | None
    webhook_url: str | None
    industries: list[str]
    active: bool
    created_at: datetime


class RepList(BaseModel):
    reps: list[RepOut]


class HandoffOut(BaseModel):
    id: str
    lead_id: str
    status: str
    assigned_rep_id: str | None
    claimed_by: str | None
    outcome: str | None
    summary: dict[str, Any]
    notified: list[dict[str, Any]]
    sla_due_at: datetime | None
    created_at: datetime
    claimed_at: datetime | None
    resolved_at: datetime | None


class HandoffList(BaseModel):
    handoffs: list[HandoffOut]


class ClaimIn(Strict):
    rep_id: str | None = Field(default=None, description="required with a business key; a rep key claims for its rep")


class ReplyIn(Strict):
    multiline = frozenset({"text"})
    rep_id: str | None = None
    text: Annotated[str, Field(min_length=1, max_length=1600)]


class ResolveIn(Strict):
    outcome: Literal["won", "lost", "nurture"]
    rep_id: str | None = None
    value: Annotated[float | None, Field(ge=0)] = None
    currency: Annotated[str | None, Field(pattern=r"^[A-Z]{3}$")] = None
    note: Annotated[str, Field(max_length=2000)] = ""

    @model_validator(mode="after")
    def _currency_with_value(self) -> ResolveIn:
        if self.value is not None and self.currency is None:
            raise ValueError("currency: required with a value (ISO 4217, e.g. USD)")
        return self


class Accepted(BaseModel):
    accepted: bool
    handoff: HandoffOut


def rep_out(rep: Rep) -> RepOut:
    return RepOut(
        id=rep.id,
        name=rep.name,
        phone=rep.phone,
        email=rep.email,
        webhook_url=rep.webhook_url,
        industries=list(rep.industries or []),
        active=rep.active,
        created_at=rep.created_at,
    )


def handoff_out(handoff: Handoff) -> HandoffOut:
    return HandoffOut(
        id=handoff.id,
        lead_id=handoff.lead_id,
        status=handoff.status,
        assigned_rep_id=handoff.assigned_rep_id,
        claimed_by=handoff.claimed_by,
        outcome=handoff.outcome,
        summary=handoff.summary,
        notified=handoff.notified,
        sla_due_at=handoff.sla_due_at,
        created_at=handoff.created_at,
        claimed_at=handoff.claimed_at,
        resolved_at=handoff.resolved_at,
    )


@router.post("/v1/reps", status_code=201, response_model=RepOut)
def create_rep(body: RepIn, session: SessionDep, business: BusinessDep, runtime: RuntimeDep) -> RepOut:
    if not (body.phone or body.email or body.webhook_url):
        raise ApiError(422, "invalid", "a rep needs a phone, an email or a webhook_url to be notified")
    check_targets([("webhook_url", body.webhook_url)], TargetPolicy.from_settings(runtime.settings))
    rep = Rep(
        business_id=business.id,
        name=body.name.strip(),
        phone=body.phone,
        email=body.email,
        webhook_url=body.webhook_url,
        industries=body.industries,
        created_at=runtime.clock.now(),
    )
    session.add(rep)
    session.flush()
    return rep_out(rep)


@router.get("/v1/reps", response_model=RepList)
def list_reps(session: SessionDep, business: BusinessDep) -> RepList:
    reps = session.scalars(sa.select(Rep).where(Rep.business_id == business.id).order_by(Rep.created_at))
    return RepList(reps=[rep_out(r) for r in reps])


@router.get("/v1/handoffs", response_model=HandoffList)
def list_handoffs(
    session: SessionDep,
    business: HandoffBusinessDep,
    status: Annotated[Literal["open", "claimed", "resolved"] | None, Query()] = None,
) -> HandoffList:
    """Escalations of the business. A rep key sees only its own: those it claimed (also once
    resolved), and open ones currently routed to it, so it can claim them; one routed on to another
    rep after the SLA, or claimed by someone else, is gone from its view (404), like everything
    outside the handoff routes."""
    query = sa.select(Handoff).where(Handoff.business_id == business.id)
    if status is not None:
        query = query.where(Handoff.status == status)
    return HandoffList(handoffs=[handoff_out(h) for h in session.scalars(query.order_by(Handoff.created_at))])


def _handoff(session: SessionDep, handoff_id: str) -> Handoff:
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise not_found("handoff")
    return handoff


def _rep(session: SessionDep, rep_id: str | None, principal: PrincipalDep | None = None) -> Rep | None:
    """The rep acting; a rep key acts as its own rep (another rep's id is not found for it)."""
    if rep_id is None and principal is not None:
        rep_id = principal.rep_id
    if rep_id is None:
        return None
    rep = session.get(Rep, rep_id)
    if rep is None:
        raise not_found("rep")
    return rep


@router.post("/v1/handoffs/{handoff_id}/claim", response_model=HandoffOut, responses=_CONFLICT)
def claim(
    handoff_id: str,
    body: ClaimIn,
    session: SessionDep,
    business: HandoffBusinessDep,
    runtime: RuntimeDep,
    principal: PrincipalDep,
) -> HandoffOut:
    handoff, rep = _handoff(session, handoff_id), _rep(session, body.rep_id, principal)
    if rep is None:
        raise ApiError(422, "invalid", "rep_id: name the rep who claims the handoff")
    try:
        return handoff_out(actions.claim(session, runtime, handoff, rep))
    except actions.HandoffConflict as exc:
        raise ApiError(409, "conflict", str(exc)) from exc


@router.post("/v1/handoffs/{handoff_id}/reply", status_code=202, response_model=Accepted, responses=_CONFLICT)
def reply(
    handoff_id: str,
    body: ReplyIn,
    session: SessionDep,
    business: HandoffBusinessDep,
    runtime: RuntimeDep,
    principal: PrincipalDep,
) -> Accepted:
    handoff = _handoff(session, handoff_id)
    rep = _rep(session, body.rep_id or (None if principal.rep_id else handoff.claimed_by), principal)
    try:
        actions.reply(session, runtime, handoff, rep, body.text)
    except actions.HandoffConflict as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    return Accepted(accepted=True, handoff=handoff_out(handoff))


@router.post("/v1/handoffs/{handoff_id}/resolve", response_model=HandoffOut, responses=_CONFLICT)
def resolve(
    handoff_id: str,
    body: ResolveIn,
    session: SessionDep,
    business: HandoffBusinessDep,
    runtime: RuntimeDep,
    principal: PrincipalDep,
) -> HandoffOut:
    handoff = _handoff(session, handoff_id)
    _rep(session, body.rep_id, principal)
    try:
        done = actions.resolve(
            session, runtime, handoff, body.outcome, value=body.value, currency=body.currency, note=body.note
        )
    except actions.HandoffConflict as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    return handoff_out(done)
