"""Request-scoped dependencies: the runtime, a database session, and who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from api.errors import ApiError
from nudge import keys
from nudge.db import TENANT_KEY, transaction
from nudge.models import ApiKey, Business
from nudge.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    with transaction(runtime.sessions) as session:
        yield session


# scope="function": the transaction commits when the handler returns, before the response is
# sent, so a client never reads its own write as missing and a failed commit is an error reply.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class Principal:
    kind: str  # agency | business
    key_id: str
    agency_id: str | None
    business_id: str | None  # the business acted on (an agency key names it with X-Nudge-Tenant)


_UNAUTHORIZED = ApiError(401, "unauthorized", "send 'Authorization: Bearer <api key>'", {"WWW-Authenticate": "Bearer"})


def get_principal(
    session: SessionDep,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
    x_nudge_tenant: Annotated[str | None, Header()] = None,
) -> Principal:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise _UNAUTHORIZED
    plaintext = authorization[7:].strip()
    prefix = keys.prefix_of(plaintext)
    record = session.scalars(sa.select(ApiKey).where(ApiKey.prefix == prefix)).first() if prefix else None
    if record is None or record.revoked_at is not None or not keys.matches(plaintext, record.key_hash):
        raise ApiError(401, "unauthorized", "this API key is not valid", {"WWW-Authenticate": "Bearer"})
    record.last_used_at = runtime.clock.now()
    business_id = record.business_id
    if record.kind == "agency" and x_nudge_tenant:
        owned = session.scalar(
            sa.select(Business.id).where(Business.id == x_nudge_tenant, Business.agency_id == record.agency_id)
        )
        if owned is None:
            raise ApiError(404, "not_found", "business not found")
        business_id = owned
    if business_id is not None:
        session.info[TENANT_KEY] = business_id  # from here on the session only sees this business
    return Principal(kind=record.kind, key_id=record.id, agency_id=record.agency_id, business_id=business_id)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_business(principal: PrincipalDep, session: SessionDep) -> Business:
    if principal.business_id is None:
        raise ApiError(
            400,
            "tenant_required",
            "an agency key must name the business with the 'X-Nudge-Tenant: <business id>' header",
        )
    business = session.get(Business, principal.business_id)
    if business is None:
        raise ApiError(404, "not_found", "business not found")
    return business


BusinessDep = Annotated[Business, Depends(require_business)]


def require_agency(principal: PrincipalDep) -> Principal:
    if principal.kind != "agency" or principal.agency_id is None:
        raise ApiError(403, "agency_key_required", "only an agency key can manage businesses")
    return principal


AgencyDep = Annotated[Principal, Depends(require_agency)]
