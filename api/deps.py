"""Request-scoped dependencies: the runtime, a database session, and who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api import audit
from api.errors import ApiError, not_found
from api.principal import Principal
from api.ratelimit import RateLimiter
from nudge import keys
from nudge.db import REP_KEY, TENANT_KEY, transaction
from nudge.key_admin import KeyOwner
from nudge.models import ApiKey, Business
from nudge.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    # async: FastAPI runs a plain-def dependency on a worker thread, a thread hop per request for
    # reading an attribute.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

_PRINCIPAL_KEY = "principal"


def get_session(runtime: RuntimeDep, request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error.

    The audit row of an authenticated request is written here, in the same transaction, so a
    change and its audit entry commit together (and a failed request leaves neither)."""
    with transaction(runtime.sessions) as session:
        yield session
        principal: Principal | None = session.info.get(_PRINCIPAL_KEY)
        if principal is not None:
            audit.record(session, principal, request, runtime.clock.now())


# scope="function": the transaction commits when the handler returns, before the response is
# sent, so a client never reads its own write as missing and a failed commit is an error reply.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


_UNAUTHORIZED = ApiError(401, "unauthorized", "send 'Authorization: Bearer <api key>'", {"WWW-Authenticate": "Bearer"})


_bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer <key>`")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
TenantHeader = Annotated[
    str | None,
    Header(max_length=40, description="with an agency key: the business (tenant) id to act on"),
]


def get_principal(
    request: Request, session: SessionDep, runtime: RuntimeDep, bearer: BearerDep, x_nudge_tenant: TenantHeader = None
) -> Principal:
    return authenticate(request, session, runtime, bearer.credentials if bearer else None, x_nudge_tenant)


def authenticate(
    request: Request, session: Session, runtime: Runtime, plaintext: str | None, x_nudge_tenant: str | None
) -> Principal:
    """Check the key, spend a token of its rate limit, and scope the session to what it may see."""
    plaintext = (plaintext or "").strip()
    if not plaintext:
        raise _UNAUTHORIZED
    prefix = keys.prefix_of(plaintext)
    record = session.scalars(sa.select(ApiKey).where(ApiKey.prefix == prefix)).first() if prefix else None
    if record is None or record.revoked_at is not None or not keys.matches(plaintext, record.key_hash):
        client_limited(request, runtime)  # guessing keys spends the caller's address budget
        raise ApiError(401, "unauthorized", "this API key is not valid", {"WWW-Authenticate": "Bearer"})
    now = runtime.clock.now()
    limiter: RateLimiter = request.app.state.key_limiter
    limiter.check(record.id, now.timestamp(), "API key")
    record.last_used_at = now
    business_id = record.business_id
    if x_nudge_tenant and record.kind == "agency":
        owned = session.scalar(
            sa.select(Business.id).where(Business.id == x_nudge_tenant, Business.agency_id == record.agency_id)
        )
        if owned is None:
            raise not_found("business")
        business_id = owned
    elif x_nudge_tenant and x_nudge_tenant != record.business_id:
        raise not_found("business")  # a business or rep key acts on its own business only
    if business_id is not None:
        session.info[TENANT_KEY] = business_id  # from here on the session only sees this business
    if record.kind == "rep":
        session.info[REP_KEY] = record.rep_id  # ... and only this rep's handoffs
    principal = Principal(
        kind=record.kind,
        key_id=record.id,
        key_prefix=record.prefix,
        agency_id=record.agency_id,
        business_id=business_id,
        rep_id=record.rep_id,
    )
    session.info[_PRINCIPAL_KEY] = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def _business_of(principal: Principal, session: Session) -> Business:
    if principal.business_id is None:
        raise ApiError(
            400,
            "tenant_required",
            "an agency key must name the business with the 'X-Nudge-Tenant: <business id>' header",
        )
    business = session.get(Business, principal.business_id)
    if business is None:
        raise not_found("business")
    return business


def _hidden_from_reps(principal: Principal) -> None:
    """A rep key reaches nothing but its handoffs: anything else is 404, like what it may not see."""
    if principal.kind == "rep":
        raise ApiError(404, "not_found", "not found")


def require_business(principal: PrincipalDep, session: SessionDep) -> Business:
    """The business a business or agency key acts on."""
    _hidden_from_reps(principal)
    return _business_of(principal, session)


BusinessDep = Annotated[Business, Depends(require_business)]


def require_business_or_rep(principal: PrincipalDep, session: SessionDep) -> Business:
    """For the handoff routes a rep key may use; the session filter limits what it sees."""
    return _business_of(principal, session)


HandoffBusinessDep = Annotated[Business, Depends(require_business_or_rep)]


def require_agency(principal: PrincipalDep) -> Principal:
    _hidden_from_reps(principal)
    if principal.kind != "agency" or principal.agency_id is None:
        raise ApiError(403, "agency_key_required", "only an agency key can manage businesses")
    return principal


AgencyDep = Annotated[Principal, Depends(require_agency)]


def require_key_owner(principal: PrincipalDep) -> KeyOwner:
    """Whose keys and audit log the caller may see: rep keys manage nothing (404)."""
    _hidden_from_reps(principal)
    if principal.kind == "agency":
        return KeyOwner(agency_id=principal.agency_id, business_id=principal.business_id)
    return KeyOwner(business_id=principal.business_id)


KeyOwnerDep = Annotated[KeyOwner, Depends(require_key_owner)]


def client_limited(request: Request, runtime: RuntimeDep) -> None:
    """Webhooks and public links have no key: limit them per client address instead."""
    limiter: RateLimiter = request.app.state.client_limiter
    address = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and runtime.settings.trust_forwarded_headers:
        address = forwarded.split(",")[0].strip()  # the client our own proxy saw
    limiter.check(address, runtime.clock.now().timestamp(), "client address")


async def _limit_client(request: Request, runtime: RuntimeDep) -> None:
    # async, like get_runtime: the check is a few microseconds under a lock, no reason for a thread hop.
    client_limited(request, runtime)


ClientLimitDep = Depends(_limit_client)
