"""Leads: intake from forms/CRMs, state, transcript, outside signals."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from agent.intake import NewLead
from api import lead_actions
from api.deps import BusinessDep, RuntimeDep, SessionDep
from api.errors import ERROR_RESPONSES, ApiError, not_found
from api.json_body import BoundedJsonRoute
from api.lead_listing import MAX_LIMIT, CursorError, LeadFilter, list_leads
from api.schemas import (
    AcceptedOut,
    Instant,
    LeadEventIn,
    LeadIn,
    LeadList,
    LeadOut,
    MessageOut,
    MessagesOut,
    NextTouch,
)
from nudge.db import after_commit
from nudge.models import Lead, Message, OptOut
from nudge.privacy import export_lead
from scheduler.dispatcher import sequence_for
from scheduler.inputs import receive_lead

router = APIRouter(route_class=BoundedJsonRoute, prefix="/v1/leads", tags=["leads"], responses=ERROR_RESPONSES)


def lead_out(session: SessionDep, lead: Lead, business: BusinessDep, opt_outs: list[str] | None = None) -> LeadOut:
    next_touch = None
    if lead.next_touch:
        spec = sequence_for(business).touch(lead.next_touch)
        next_touch = NextTouch(
            number=lead.next_touch,
            purpose=spec.purpose if spec else "",
            channel=lead.next_channel,
            due_at=lead.next_due_at,
        )
    if opt_outs is None:
        opt_outs = sorted(session.scalars(select(OptOut.channel).where(OptOut.lead_id == lead.id)))
    return LeadOut(
        id=lead.id,
        name=lead.name,
        phone=lead.phone,
        email=lead.email,
        external_id=lead.external_id,
        source=lead.source,
        stage=lead.stage,
        score=lead.score,
        industry=lead.industry,
        locale=lead.locale,
        timezone=lead.timezone,
        consent=lead.consent,
        opt_outs=opt_outs,
        last_touch=lead.last_touch,
        next_touch=next_touch,
        metadata=lead.extra,
        created_at=lead.created_at,
        updated_at=lead.updated_at,
    )


def get_lead(session: SessionDep, lead_id: str) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise not_found("lead")
    return lead


Stage = Literal[
    "new",
    "contacted",
    "qualifying",
    "conversing",
    "nurturing",
    "escalated",
    "closed",
    "nurture_complete",
    "won",
    "booked",
    "lost",
    "opted_out",
]  # agent.stages.ALL (a test keeps them equal)
Channel = Literal["form", "whatsapp", "sms", "email"]
_Label = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.get("", response_model=LeadList)
def list_and_search(
    session: SessionDep,
    business: BusinessDep,
    stage: Annotated[list[Stage], Query(max_length=11, description="one or more stages (repeat the parameter)")] = [],  # noqa: B006
    score_min: Annotated[int | None, Query(ge=0, le=100)] = None,
    score_max: Annotated[int | None, Query(ge=0, le=100)] = None,
    source: _Label = None,
    channel: Annotated[Channel | None, Query(description="the lead came in or last wrote on this channel")] = None,
    industry: _Label = None,
    since: Annotated[Instant | None, Query(description="created at or after: 2026-01-01T00:00:00Z")] = None,
    until: Annotated[Instant | None, Query(description="created before: 2026-02-01T00:00:00Z")] = None,
    q: Annotated[str | None, Query(max_length=200, description="search names, emails and phone numbers")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page")] = None,
) -> LeadList:
    """The business's leads, newest first, a page at a time. Leads arriving while a client pages
    never shift or repeat the pages after its cursor."""
    spec = LeadFilter(
        stage=tuple(stage),
        score_min=score_min,
        score_max=score_max,
        source=source,
        channel=channel,
        industry=industry,
        since=since,
        until=until,
        q=q,
    )
    try:
        page = list_leads(session, spec, limit=limit, cursor=cursor)
    except CursorError as exc:
        raise ApiError(422, "invalid_cursor", str(exc)) from exc
    opt_outs: dict[str, list[str]] = defaultdict(list)
    if page.leads:
        rows = session.execute(
            select(OptOut.lead_id, OptOut.channel)
            .where(OptOut.lead_id.in_([lead.id for lead in page.leads]))
            .order_by(OptOut.channel)
        )
        for lead_id, channel_name in rows:
            opt_outs[lead_id].append(channel_name)
    return LeadList(
        leads=[lead_out(session, lead, business, opt_outs[lead.id]) for lead in page.leads],
        next_cursor=page.next_cursor,
    )


# What a client (and schemathesis' stateful phase) can do next with the lead it created.
_LEAD_LINKS = {
    name: {
        "operationRef": f"#/paths/~1v1~1leads~1{{lead_id}}{suffix}/{method}",
        "parameters": {"lead_id": "$response.body#/id"},
    }
    for name, suffix, method in (
        ("GetLead", "", "get"),
        ("GetMessages", "~1messages", "get"),
        ("PostEvent", "~1events", "post"),
        ("ExportLead", "~1export", "get"),
        ("DeleteLead", "", "delete"),
    )
}


@router.post(
    "",
    status_code=201,
    response_model=LeadOut,
    responses={
        201: {"links": _LEAD_LINKS},
        200: {"model": LeadOut, "description": "the lead was already known", "links": _LEAD_LINKS},
    },
)
def create(
    body: LeadIn, session: SessionDep, business: BusinessDep, runtime: RuntimeDep, response: Response
) -> LeadOut:
    now = runtime.clock.now()
    data = NewLead(
        name=body.name,
        phone=body.phone,
        email=body.email,
        external_id=body.external_id,
        source=body.source,
        message=body.message,
        industry=body.industry,
        timezone=body.timezone,
        locale=body.locale,
        consent={k: v for k, v in body.consent.model_dump().items() if v is not None},
        metadata=body.metadata,
    )
    lead, created = receive_lead(session, business, data, now)
    if not created:
        response.status_code = 200
    else:
        after_commit(session, lambda: runtime.dispatcher.wake(lead.id))
    return lead_out(session, lead, business)


@router.get("/{lead_id}", response_model=LeadOut)
def read(lead_id: str, session: SessionDep, business: BusinessDep) -> LeadOut:
    return lead_out(session, get_lead(session, lead_id), business)


@router.get("/{lead_id}/messages", response_model=MessagesOut)
def messages(lead_id: str, session: SessionDep, business: BusinessDep) -> MessagesOut:
    lead = get_lead(session, lead_id)
    rows = session.scalars(select(Message).where(Message.lead_id == lead.id).order_by(Message.created_at, Message.id))
    return MessagesOut(
        lead_id=lead.id,
        messages=[
            MessageOut(
                id=m.id,
                direction=m.direction,
                channel=m.channel,
                touch=m.touch,
                author=m.author,
                composer=m.composer,
                text=m.body,
                subject=m.subject,
                template_sid=m.template_sid,
                status=m.status,
                status_history=m.status_history,
                error_code=m.error_code,
                note=(m.info or {}).get("channel_reason"),
                created_at=m.created_at,
                sent_at=m.sent_at,
            )
            for m in rows
        ],
    )


@router.post("/{lead_id}/events", status_code=202, response_model=AcceptedOut)
def outside_event(
    lead_id: str, body: LeadEventIn, session: SessionDep, business: BusinessDep, runtime: RuntimeDep
) -> AcceptedOut:
    lead = get_lead(session, lead_id)
    stored = lead_actions.signal(session, runtime, lead, body.model_dump(mode="json"), body.external_id)
    return AcceptedOut(accepted=True, duplicate=not stored)


@router.get("/{lead_id}/export", response_model=dict[str, Any])
def export(lead_id: str, session: SessionDep, business: BusinessDep) -> dict[str, Any]:
    """Everything Nudge holds about the lead (a privacy access request)."""
    return export_lead(session, get_lead(session, lead_id))


@router.delete(
    "/{lead_id}",
    status_code=204,
    response_class=Response,
    responses={409: {"description": "the lead is being processed right now; retry"}},
)
def erase(lead_id: str, session: SessionDep, business: BusinessDep, runtime: RuntimeDep) -> Response:
    """Erase the lead's personal data everywhere: transcript, mailbox, outbox, decisions, links,
    handoffs, rep notifications and the graph's checkpoints."""
    lead = get_lead(session, lead_id)
    try:
        lead_actions.erase(session, runtime, lead, business)
    except lead_actions.LeadBusy:
        raise ApiError(409, "busy", "the lead is being processed right now; retry in a moment") from None
    return Response(status_code=204)
