"""Console sign-in: an API key (or a rep's notification link) becomes a session cookie.

The cookie holds a random token; `ConsoleSession` holds its SHA-256, what the key behind it may
see and the session's CSRF token. Every console request scopes its database session exactly as
`api.deps.authenticate` does for the API (tenant, and rep), and records the same Principal, so the
audit log and the data layer's tenancy rules cover the console too. A key revoked after sign-in
ends its sessions at their next request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from agent import rep_links
from api.deps import _PRINCIPAL_KEY, RuntimeDep, SessionDep
from api.principal import Principal
from nudge.db import REP_KEY, TENANT_KEY
from nudge.models import ApiKey, Business, ConsoleSession, RepLink
from nudge.runtime import Runtime

COOKIE = "nudge_session"
SIGN_IN_COOKIE = "nudge_sign_in"  # the sign-in form's CSRF token (double submit: no session yet)
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_TTL = timedelta(hours=12)
LINK_PREFIX = "link"  # key_prefix of a session opened from a rep link


class ConsoleProblem(Exception):
    """Answered as a console page with this status (never JSON, never a traceback)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class SignInRequired(Exception):
    """No valid session: the browser goes to the sign-in page."""


@dataclass
class Console:
    """The signed-in browser: its scoped database session and what it acts as."""

    db: Session
    record: ConsoleSession
    principal: Principal
    business: Business | None

    @property
    def kind(self) -> str:
        return self.record.kind

    @property
    def csrf(self) -> str:
        return self.record.csrf_token


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def secure_cookies(request: Request, runtime: Runtime) -> bool:
    """Secure under HTTPS: the request's own scheme or the public URL a proxy serves us under."""
    return request.url.scheme == "https" or str(runtime.settings.public_url).startswith("https://")


def set_session_cookie(response: Response, request: Request, runtime: Runtime, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",  # a rep link opened from an SMS or a mail client is a cross-site navigation
        secure=secure_cookies(request, runtime),
        path="/",
    )


def open_session(db: Session, runtime: Runtime, principal: Principal, *, handoff_id: str | None = None) -> str:
    """A new session for `principal`; returns the cookie's token."""
    token = secrets.token_urlsafe(32)
    now = runtime.clock.now()
    business_id = principal.business_id
    if principal.kind == "agency" and business_id is None:
        business_id = db.scalar(
            sa.select(Business.id).where(Business.agency_id == principal.agency_id).order_by(Business.created_at)
        )
    db.add(
        ConsoleSession(
            token_hash=_hash(token),
            csrf_token=secrets.token_urlsafe(24),
            kind=principal.kind,
            key_id=principal.key_id,
            key_prefix=principal.key_prefix,
            agency_id=principal.agency_id,
            business_id=business_id,
            rep_id=principal.rep_id,
            handoff_id=handoff_id,
            created_at=now,
            expires_at=now + (rep_links.LINK_TTL if handoff_id else SESSION_TTL),
        )
    )
    return token


def redeem_link(db: Session, runtime: Runtime, token: str) -> tuple[str, str] | None:
    """A rep link's (session token, handoff id), or None when it is unknown or expired."""
    now = runtime.clock.now()
    link = db.scalar(sa.select(RepLink).where(RepLink.token_hash == rep_links.token_hash(token)))
    if link is None or link.expires_at <= now:
        return None
    principal = Principal(
        kind="rep",
        key_id=link.id,
        key_prefix=LINK_PREFIX,
        agency_id=None,
        business_id=link.business_id,
        rep_id=link.rep_id,
    )
    return open_session(db, runtime, principal, handoff_id=link.handoff_id), link.handoff_id


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def _scope(db: Session, record: ConsoleSession) -> Principal:
    """Limit the database session as the API limits a key's (AGENTS.md rule 10)."""
    if record.business_id is not None:
        db.info[TENANT_KEY] = record.business_id
    if record.kind == "rep":
        db.info[REP_KEY] = record.rep_id
    principal = Principal(
        kind=record.kind,
        key_id=record.key_id,
        key_prefix=record.key_prefix,
        agency_id=record.agency_id,
        business_id=record.business_id,
        rep_id=record.rep_id,
    )
    db.info[_PRINCIPAL_KEY] = principal  # audited by api.deps.get_session like an API request
    return principal


def current_record(db: Session, runtime: Runtime, token: str | None) -> ConsoleSession | None:
    if not token:
        return None
    record = db.scalar(sa.select(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))
    if record is None or record.revoked_at is not None or record.expires_at <= runtime.clock.now():
        return None
    if record.key_prefix != LINK_PREFIX:
        key = db.get(ApiKey, record.key_id)
        if key is None or key.revoked_at is not None:
            return None
    return record


async def _form_csrf(request: Request) -> str | None:
    if request.method in ("GET", "HEAD"):
        return None
    given = request.headers.get(CSRF_HEADER)
    if given:
        return given
    if request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def get_console(
    request: Request, db: SessionDep, runtime: RuntimeDep, csrf: Annotated[str | None, Depends(_form_csrf)]
) -> Console:
    record = current_record(db, runtime, request.cookies.get(COOKIE))
    if record is None:
        raise SignInRequired()
    if request.method not in ("GET", "HEAD") and not csrf_matches(record.csrf_token, csrf):
        raise ConsoleProblem(403, "This form has expired or did not come from this console. Reload the page and retry.")
    principal = _scope(db, record)
    business = db.get(Business, record.business_id) if record.business_id else None
    return Console(db=db, record=record, principal=principal, business=business)


ConsoleDep = Annotated[Console, Depends(get_console)]
