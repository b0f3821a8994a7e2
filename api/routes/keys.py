"""API keys (list by prefix, create, rotate, revoke) and the audit log of what keys did."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from api.deps import KeyOwnerDep, RuntimeDep, SessionDep
from api.errors import ERROR_RESPONSES, ApiError, not_found
from api.json_body import BoundedJsonRoute
from api.schemas import Instant, Strict
from nudge.key_admin import KeyAdminError, create_key, list_keys, revoke_key, rotate_key
from nudge.models import ApiKey, AuditEntry

router = APIRouter(route_class=BoundedJsonRoute, tags=["access"], responses=ERROR_RESPONSES)
_BAD: dict[int | str, dict[str, Any]] = {400: {"description": "the key needs a business (X-Nudge-Tenant)"}}
PrefixPath = Annotated[str, Path(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9_]+$")]


class KeyOut(BaseModel):
    prefix: str
    kind: str
    label: str
    agency_id: str | None
    business_id: str | None
    rep_id: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class KeyList(BaseModel):
    keys: list[KeyOut]


class KeyCreated(KeyOut):
    api_key: str = Field(description="the secret: shown once, never stored, never shown again")


class KeyIn(Strict):
    kind: Literal["agency", "business", "rep"]
    rep_id: Annotated[str | None, Field(min_length=1, max_length=40)] = None
    label: Annotated[str, Field(max_length=200)] = ""


class AuditOut(BaseModel):
    id: str
    at: datetime
    agency_id: str | None
    business_id: str | None
    key_prefix: str
    key_kind: str
    rep_id: str | None
    action: str
    method: str
    route: str
    target_id: str | None


class AuditList(BaseModel):
    entries: list[AuditOut]


def key_out(record: ApiKey) -> KeyOut:
    return KeyOut(
        prefix=record.prefix,
        kind=record.kind,
        label=record.label,
        agency_id=record.agency_id,
        business_id=record.business_id,
        rep_id=record.rep_id,
        created_at=record.created_at,
        last_used_at=record.last_used_at,
        revoked_at=record.revoked_at,
    )


@router.get("/v1/keys", response_model=KeyList)
def keys_list(
    owner: KeyOwnerDep,
    session: SessionDep,
    prefix: Annotated[str, Query(max_length=24, description="only keys whose prefix starts with this")] = "",
) -> KeyList:
    """Keys the caller may manage (never their secrets)."""
    return KeyList(keys=[key_out(k) for k in list_keys(session, owner, prefix)])


@router.post("/v1/keys", status_code=201, response_model=KeyCreated, responses=_BAD)
def keys_create(body: KeyIn, owner: KeyOwnerDep, session: SessionDep, runtime: RuntimeDep) -> KeyCreated:
    """A new key; the secret is in the answer once. Business and rep keys go to the business the
    caller acts on; an agency key without X-Nudge-Tenant may create agency keys."""
    try:
        issued = create_key(
            session, owner, kind=body.kind, now=runtime.clock.now(), rep_id=body.rep_id, label=body.label
        )
    except KeyAdminError as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from exc
    return KeyCreated(**key_out(issued.record).model_dump(), api_key=issued.plaintext)


@router.post("/v1/keys/{prefix}/rotate", response_model=KeyCreated)
def keys_rotate(prefix: PrefixPath, owner: KeyOwnerDep, session: SessionDep, runtime: RuntimeDep) -> KeyCreated:
    """A new secret for the key (shown once); the old one stops working at once."""
    issued = rotate_key(session, owner, prefix, runtime.clock.now())
    if issued is None:
        raise not_found("key")
    return KeyCreated(**key_out(issued.record).model_dump(), api_key=issued.plaintext)


@router.delete("/v1/keys/{prefix}", status_code=204, response_class=Response)
def keys_revoke(prefix: PrefixPath, owner: KeyOwnerDep, session: SessionDep, runtime: RuntimeDep) -> Response:
    """The key stops working at once."""
    if revoke_key(session, owner, prefix, runtime.clock.now()) is None:
        raise not_found("key")
    return Response(status_code=204)


@router.get("/v1/audit", response_model=AuditList)
def audit_list(
    owner: KeyOwnerDep,
    session: SessionDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    before: Annotated[
        Instant | None,
        Query(description="entries strictly older than this (paging), with its offset: 2026-01-01T00:00:00Z"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditList:
    """Who did what, newest first: the business's entries, or the agency's across its businesses."""
    query = sa.select(AuditEntry)
    if owner.business_id is not None:
        query = query.where(AuditEntry.business_id == owner.business_id)
    else:
        query = query.where(AuditEntry.agency_id == owner.agency_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if before is not None:
        query = query.where(AuditEntry.at < before)
    rows = session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit))
    return AuditList(entries=[AuditOut.model_validate(r, from_attributes=True) for r in rows])
