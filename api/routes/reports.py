"""Reports: multi-touch attribution, the per-touch funnel, recovery and experiments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from agent.reports import attribution_report, funnel_report
from agent.sequence import parse_duration
from api.deps import BusinessDep, SessionDep
from api.errors import ERROR_RESPONSES, ApiError
from api.json_body import BoundedJsonRoute
from api.report_schemas import AttributionOut, FunnelOut, ModelName, attribution_out, funnel_out
from scheduler.dispatcher import sequence_for

router = APIRouter(route_class=BoundedJsonRoute, prefix="/v1/reports", tags=["reports"], responses=ERROR_RESPONSES)


@router.get("/attribution", response_model=AttributionOut)
def attribution(
    session: SessionDep,
    business: BusinessDep,
    model: Annotated[ModelName, Query(description="attribution model")] = "markov",
    half_life: Annotated[str, Query(max_length=20, description="time_decay: credit halves every… e.g. '7d'")] = "7d",
) -> AttributionOut:
    """Credit for the conversions, per touch, channel, touch × channel, case study, wording variant,
    experiment arm and composer (template or LLM). Every dimension's credits add up to `total`."""
    try:
        decay = parse_duration(half_life)
    except ValueError as exc:
        raise ApiError(422, "invalid", f"half_life: {exc}") from exc
    if decay.total_seconds() <= 0:
        raise ApiError(422, "invalid", "half_life: must be longer than zero")
    return attribution_out(attribution_report(session, business.id, model, decay), decay)


@router.get("/funnel", response_model=FunnelOut)
def funnel(session: SessionDep, business: BusinessDep) -> FunnelOut:
    """Per touch: sent, delivered, read, replied, clicked, converted; the recovery rate of leads
    that went cold; break-up recovery; and each touch experiment's lift with a 95% interval."""
    sequence = sequence_for(business)
    return funnel_out(funnel_report(session, business.id, sequence), sequence)
