"""The business's IMAP mailbox, read by the worker loop for email replies, bounces and
out-of-office answers (`scheduler.imap`). The password is write-only: it is never returned."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from agent.outbound_urls import RefusedTarget, TargetPolicy, check_host
from api.deps import BusinessDep, RuntimeDep, SessionDep
from api.errors import ERROR_RESPONSES, ApiError
from api.json_body import BoundedJsonRoute
from api.schemas import WHOLE_NUMBER, Strict
from nudge.models import EmailInbox

router = APIRouter(
    route_class=BoundedJsonRoute, prefix="/v1/email-inbox", tags=["email inbox"], responses=ERROR_RESPONSES
)

Security = Literal["tls", "starttls", "none"]
_DEFAULT_PORTS = {"tls": 993, "starttls": 143, "none": 143}


class EmailInboxIn(Strict):
    host: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._:\[\]-]+$")]
    # strict: as the schema says (no true for 1, no 0 for false, no "993")
    port: Annotated[int | None, Field(ge=1, le=65535), WHOLE_NUMBER] = None  # 993 with tls, 143 otherwise
    security: Security = "tls"
    username: Annotated[str, Field(min_length=1, max_length=320, pattern=r"^[^\u0000-\u001F\u007F]+$")]
    # Required when the mailbox is first configured; left out, the stored one is kept.
    password: Annotated[str | None, Field(min_length=1, max_length=500, pattern=r"^[^\u0000-\u001F\u007F]+$")] = None
    folder: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\u0000-\u001F\u007F]+$")] = "INBOX"
    enabled: Annotated[bool, Field(strict=True)] = True
    # Without IDLE, the polling interval; with IDLE, it is renewed within this too.
    poll_seconds: Annotated[int, Field(ge=10, le=3600), WHOLE_NUMBER] = 60


class EmailInboxOut(BaseModel):
    configured: bool
    host: str | None = None
    port: int | None = None
    security: Security | None = None
    username: str | None = None
    password_set: bool = False
    folder: str | None = None
    enabled: bool = False
    poll_seconds: int | None = None
    status: str | None = None  # pending | connected | error
    last_error: str | None = None
    last_checked_at: datetime | None = None
    last_uid: int | None = None
    updated_at: datetime | None = None


def _out(inbox: EmailInbox | None) -> EmailInboxOut:
    if inbox is None:
        return EmailInboxOut(configured=False)
    return EmailInboxOut(
        configured=True,
        host=inbox.host,
        port=inbox.port,
        security=inbox.security,  # stored from the Literal above
        username=inbox.username,
        password_set=bool(inbox.password),
        folder=inbox.folder,
        enabled=inbox.enabled,
        poll_seconds=inbox.poll_seconds,
        status=inbox.status,
        last_error=inbox.last_error,
        last_checked_at=inbox.last_checked_at,
        last_uid=inbox.last_uid,
        updated_at=inbox.updated_at,
    )


def _find(session: SessionDep) -> EmailInbox | None:
    return session.scalars(select(EmailInbox)).first()  # the session is scoped to the business


@router.get("", response_model=EmailInboxOut)
def read_inbox(business: BusinessDep, session: SessionDep) -> EmailInboxOut:
    return _out(_find(session))


_PUT_RESPONSES: dict[int | str, dict[str, Any]] = {422: {"description": "invalid, or a host Nudge may not reach"}}


@router.put("", response_model=EmailInboxOut, responses=_PUT_RESPONSES)
def replace_inbox(body: EmailInboxIn, business: BusinessDep, session: SessionDep, runtime: RuntimeDep) -> EmailInboxOut:
    policy = TargetPolicy.from_settings(runtime.settings)
    port = body.port or _DEFAULT_PORTS[body.security]
    try:
        check_host(body.host, port, policy)
    except RefusedTarget as exc:
        raise RefusedTarget(f"host: {exc}") from exc
    if body.security == "none" and policy.require_https:
        raise ApiError(422, "invalid", "security: 'none' would send the password in clear text; use tls or starttls")
    inbox = _find(session)
    now = runtime.clock.now()
    if inbox is None:
        if body.password is None:
            raise ApiError(422, "invalid", "password: required when the mailbox is first configured")
        inbox = EmailInbox(business_id=business.id, created_at=now, last_uid=0, status="pending")
        session.add(inbox)
    moved = (inbox.host, inbox.port, inbox.username, inbox.folder) != (body.host, port, body.username, body.folder)
    if moved:  # another mailbox: its UIDs mean nothing against the old ones
        inbox.uidvalidity, inbox.last_uid, inbox.status, inbox.last_error = None, 0, "pending", None
    inbox.host, inbox.port, inbox.security, inbox.username = body.host, port, body.security, body.username
    if body.password is not None:
        inbox.password = body.password
    inbox.folder, inbox.enabled, inbox.poll_seconds = body.folder, body.enabled, body.poll_seconds
    inbox.updated_at = now  # a reader started before this change restarts with it
    session.flush()
    return _out(inbox)


@router.delete("", status_code=204, response_class=Response)
def delete_inbox(business: BusinessDep, session: SessionDep) -> Response:
    inbox = _find(session)
    if inbox is not None:
        session.delete(inbox)
    return Response(status_code=204)
