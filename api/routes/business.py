"""The business (tenant) itself, and agency management of businesses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agent.channels import CHANNELS
from agent.outbound_urls import TargetPolicy, check_targets, configured_targets
from agent.sequence_file import channel_problems
from api.deps import AgencyDep, BusinessDep, RuntimeDep, SessionDep
from api.errors import ERROR_RESPONSES, ApiError
from api.json_body import BoundedJsonRoute
from api.schemas import (
    CLEARABLE,
    BusinessCreate,
    BusinessCreated,
    BusinessList,
    BusinessOut,
    BusinessPatch,
    QuietHoursIn,
)
from nudge.models import Business
from nudge.tenants import create_business
from scheduler.dispatcher import sequence_for

router = APIRouter(route_class=BoundedJsonRoute, tags=["business"], responses=ERROR_RESPONSES)


def business_out(business: Business) -> BusinessOut:
    return BusinessOut(
        id=business.id,
        name=business.name,
        agency_id=business.agency_id,
        timezone=business.timezone,
        default_locale=business.default_locale,
        languages=business.languages,
        whatsapp_from=business.whatsapp_from,
        sms_from=business.sms_from,
        email_from=business.email_from,
        quiet_hours=QuietHoursIn(
            start=business.quiet_hours_start, end=business.quiet_hours_end, weekends=business.send_on_weekends
        ),
        handoff_sla_seconds=business.handoff_sla_seconds,
        profile=business.profile,
        whatsapp_templates=business.whatsapp_templates,
        audiences=[_masked(entry) for entry in business.audiences or []],
        consent_required=list(business.consent_required or []),
        created_at=business.created_at,
    )


def _masked(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: "***" if key in ("access_token", "secret") else value for key, value in entry.items()}


def patch_fields(body: BusinessPatch) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True)
    nulls = sorted(name for name, value in data.items() if value is None and name not in CLEARABLE)
    if nulls:
        raise ApiError(422, "invalid", f"{', '.join(nulls)}: cannot be null (leave it out to keep the current value)")
    data.pop("quiet_hours", None)
    quiet = body.quiet_hours  # the model, not the dump: exclude_unset would drop defaulted fields inside it
    if quiet is not None:
        data.update(quiet_hours_start=quiet.start, quiet_hours_end=quiet.end, send_on_weekends=quiet.weekends)
    return data


def _numbers_taken(session: SessionDep, data: dict[str, Any], exclude_id: str | None) -> None:
    for column in ("whatsapp_from", "sms_from"):
        number = data.get(column)
        if not number:
            continue
        owner = session.scalar(select(Business.id).where(getattr(Business, column) == number))
        if owner is not None and owner != exclude_id:
            raise ApiError(409, "number_in_use", f"{column} {number} already belongs to another business")


def _senders_still_used(business: Business, data: dict[str, Any]) -> None:
    """A sender the business's own sequence sends on cannot be cleared: those touches would have
    no way out (the default sequence simply skips a channel the business does not have)."""
    if not business.sequence:
        return
    senders = {channel: data.get(f"{channel}_from", getattr(business, f"{channel}_from")) for channel in CHANNELS}
    problems = channel_problems(sequence_for(business), {channel: bool(sender) for channel, sender in senders.items()})
    if problems:
        raise ApiError(
            409,
            "sender_in_use",
            "the sequence still sends on a channel this change leaves without a sender; take the channel out "
            "of the sequence (PUT /v1/sequence) first: " + "; ".join(problems),
        )


@router.get("/v1/business", response_model=BusinessOut)
def read_business(business: BusinessDep) -> BusinessOut:
    return business_out(business)


@router.patch(
    "/v1/business",
    response_model=BusinessOut,
    responses={409: {"description": "number in use, or a sender the sequence still uses"}},
)
def update_business(
    body: BusinessPatch, business: BusinessDep, session: SessionDep, runtime: RuntimeDep
) -> BusinessOut:
    data = patch_fields(body)
    targets = configured_targets(audiences=data.get("audiences"), profile=data.get("profile"))
    check_targets(targets, TargetPolicy.from_settings(runtime.settings))
    _numbers_taken(session, data, business.id)
    _senders_still_used(business, data)
    for name, value in data.items():
        setattr(business, name, value)
    business.updated_at = runtime.clock.now()
    try:
        session.flush()
    except IntegrityError as exc:
        raise ApiError(409, "conflict", "that sender number belongs to another business") from exc
    return business_out(business)


@router.post(
    "/v1/businesses",
    status_code=201,
    response_model=BusinessCreated,
    responses={403: {"description": "not an agency key"}, 409: {"description": "number in use"}},
)
def create(body: BusinessCreate, agency: AgencyDep, session: SessionDep, runtime: RuntimeDep) -> BusinessCreated:
    data = patch_fields(body)
    targets = configured_targets(audiences=data.get("audiences"), profile=data.get("profile"))
    check_targets(targets, TargetPolicy.from_settings(runtime.settings))
    _numbers_taken(session, data, None)
    name = data.pop("name")
    created = create_business(session, name=name, now=runtime.clock.now(), agency_id=agency.agency_id, fields=data)
    return BusinessCreated(**business_out(created.business).model_dump(), api_key=created.api_key)


@router.get("/v1/businesses", response_model=BusinessList, responses={403: {"description": "not an agency key"}})
def list_businesses(agency: AgencyDep, session: SessionDep) -> BusinessList:
    rows = session.scalars(select(Business).where(Business.agency_id == agency.agency_id).order_by(Business.name))
    return BusinessList(businesses=[business_out(b) for b in rows])
