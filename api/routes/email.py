"""Inbound email over HTTP: Nudge's own signed JSON (NUDGE_EMAIL_INBOUND_SECRET), and the inbound
formats of Postmark (JSON), SendGrid Inbound Parse (multipart form) and Mailgun routes (form,
Mailgun's signature). Each provider has a server-wide URL (`/webhooks/email/postmark`, verified with
the server's settings) and per-business URLs (`/webhooks/email/postmark/{id}`, verified with the
secret of the business's `EmailProvider` row, configured through `/v1/email-providers`). Every
route verifies its sender, turns the payload into an `InboundMail` and hands it to
`scheduler.email_inbound.handle_mail`, the one place that decides reply, bounce, auto-reply or
unsubscribe. A verified payload that cannot be read is kept as received
(`inbound_email_payloads`) and answered 200 `unreadable`: a provider is never refused for the shape
of what it sent (it would retry it for days)."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.orm import Session

from agent.inbound_email import Bounce, InboundMail
from agent.inbound_email.mail import message_ids
from agent.inbound_email.mime import digest_id
from agent.inbound_email.providers import from_mailgun, from_postmark, from_sendgrid, mailgun_signature_problem
from agent.text import strip_controls
from api.deps import ClientLimitDep, RuntimeDep, SessionDep
from api.errors import LIMIT_RESPONSES, ApiError, not_found
from api.json_body import BoundedJsonRoute
from api.routes.email_providers import password_digest
from nudge.db import TENANT_KEY, after_commit, transaction
from nudge.documents import DocumentError, loads_json
from nudge.models import EmailProvider
from nudge.runtime import Runtime
from nudge.signing import signature_problem
from scheduler.email_inbound import handle_mail, keep_unreadable

router = APIRouter(
    route_class=BoundedJsonRoute,
    prefix="/webhooks/email",
    tags=["webhooks"],
    dependencies=[ClientLimitDep],
    responses=LIMIT_RESPONSES,
)

_MAX_FORM_FIELDS = 1000
_HANDLED: dict[int | str, dict[str, Any]] = {
    200: {"description": "handled, or kept as received when it cannot be read (status says which)"},
    404: {"description": "no business sends email from the To address"},
}


class InboundEmail(BaseModel):
    """Nudge's own format, for a bridge that forwards mail as signed JSON."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    type: Literal["reply", "bounce"] = "reply"
    message_id: Annotated[str, Field(min_length=3, max_length=300)]
    sender: Annotated[str, Field(alias="from", min_length=3, max_length=400)]
    to: Annotated[str, Field(min_length=3, max_length=400)]
    subject: Annotated[str, Field(max_length=1000)] = ""
    text: Annotated[str, Field(max_length=100_000)] = ""
    in_reply_to: Annotated[str, Field(max_length=2000)] = ""
    references: Annotated[str, Field(max_length=20_000)] = ""
    headers: dict[str, Annotated[str, Field(max_length=2000)]] = Field(default_factory=dict, max_length=200)
    bounced_message_id: str | None = None  # bounce: the Message-ID of our email that bounced
    bounce_type: Literal["hard", "soft"] = "hard"
    diagnostic: Annotated[str, Field(max_length=1000)] = ""

    @field_validator("*", mode="before")
    @classmethod
    def _without_controls(cls, value: Any) -> Any:
        # A verified provider's data is stored, not refused: control characters are dropped.
        return strip_controls(value) if isinstance(value, str) else value

    def mail(self) -> InboundMail:
        bounce = None
        if self.type == "bounce":
            original = (self.bounced_message_id or "").strip().strip("<>")
            bounce = Bounce(original_message_id=original, hard=self.bounce_type == "hard", diagnostic=self.diagnostic)
        return InboundMail(
            message_id=self.message_id.strip().strip("<>"),
            sender=self.sender,
            recipients=(self.to,),
            subject=self.subject,
            text=self.text,
            in_reply_to=message_ids(self.in_reply_to),
            references=message_ids(self.references),
            headers={name.lower(): strip_controls(value) for name, value in self.headers.items()},
            bounce=bounce,
        )


class Accepted(BaseModel):
    # stored | duplicate | unsubscribed | bounce_recorded | unknown_message | auto_reply | unreadable
    status: str
    detail: str = ""


async def _raw_body(request: Request) -> bytes:
    return await request.body()


def _decide(
    session: Session, runtime: Runtime, mail: InboundMail, source: str, raw: str, business_id: str | None = None
) -> Accepted:
    """`business_id`: the business whose own provider connection verified this (its lookups stay inside it)."""
    now = runtime.clock.now()
    handled = handle_mail(session, mail, now, business_id=business_id)
    if handled.status == "unknown_address":
        raise ApiError(404, "unknown_address", handled.detail)
    if handled.status == "unreadable":
        keep_unreadable(session, source, raw, handled.detail, now, business_id=business_id)
    if handled.wake is not None:
        woken = handled.wake
        after_commit(session, lambda: runtime.dispatcher.wake(woken))
    return Accepted(status=handled.status, detail=handled.detail)


def _unreadable(
    session: Session, runtime: Runtime, source: str, raw: str, detail: str, business_id: str | None = None
) -> Accepted:
    keep_unreadable(session, source, raw, detail, runtime.clock.now(), business_id=business_id)
    return Accepted(status="unreadable", detail=detail[:500])


@router.post(
    "/inbound",
    response_model=Accepted,
    responses={**_HANDLED, 403: {"description": "missing, stale or wrong signature"}},
)
def inbound_email(
    body: Annotated[bytes, Depends(_raw_body)],
    session: SessionDep,
    runtime: RuntimeDep,
    x_nudge_timestamp: Annotated[str | None, Header()] = None,
    x_nudge_signature: Annotated[str | None, Header()] = None,
) -> Accepted:
    # A plain def: storing the reply detects its language, work for a pool thread, not the event loop.
    now = runtime.clock.now()
    problem = signature_problem(runtime.settings.email_inbound_secret, x_nudge_timestamp, x_nudge_signature, body, now)
    if problem:
        raise ApiError(403, "bad_signature", problem)
    raw = body.decode("utf-8", "replace")
    try:
        email = InboundEmail.model_validate(loads_json(body))
    except (ValidationError, DocumentError) as exc:
        return _unreadable(session, runtime, "nudge", raw, _problem(exc))
    return _decide(session, runtime, email.mail(), "nudge", raw)


def _problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())[:500]
    return str(exc)[:500]


def _basic_password(authorization: str | None, hint: str) -> tuple[str, str | None]:
    """The basic-auth password, or why there is none."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return "", f"basic auth is required (put {hint} in the webhook URL)"
    try:
        _, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", "the basic auth credentials are not base64 user:password"
    return password, None


def _basic_auth_problem(secret: str, authorization: str | None) -> str | None:
    """Postmark and SendGrid sign nothing: their webhook URL carries basic auth
    (https://inbound:SECRET@nudge.example/...), the password being NUDGE_EMAIL_INBOUND_SECRET."""
    if not secret:
        return "this endpoint is not configured (set NUDGE_EMAIL_INBOUND_SECRET)"
    password, problem = _basic_password(authorization, "user:NUDGE_EMAIL_INBOUND_SECRET")
    if problem:
        return problem
    if not hmac.compare_digest(password.encode(), secret.encode()):
        return "wrong basic auth password"
    return None


def connection_problem(
    row: EmailProvider, authorization: str | None, fields: dict[str, str], now: datetime
) -> str | None:
    """Why a delivery to a business's own provider URL must be refused, or None: the password
    whose SHA-256 the row keeps (Postmark, SendGrid), or the row's Mailgun signing key."""
    if row.provider == "mailgun":
        return mailgun_signature_problem(row.signing_key or "", fields, now)
    if not row.password_sha256:
        return "this connection has no password; PUT /v1/email-providers/{provider} makes one"
    password, problem = _basic_password(authorization, "the password /v1/email-providers answered")
    if problem:
        return problem
    if not hmac.compare_digest(password_digest(password), row.password_sha256):
        return "wrong basic auth password"
    return None


def _unauthorized(problem: str) -> ApiError:
    return ApiError(401, "unauthorized", problem, {"WWW-Authenticate": 'Basic realm="nudge-inbound-email"'})


def _require_basic_auth(runtime: Runtime, authorization: str | None) -> None:
    problem = _basic_auth_problem(runtime.settings.email_inbound_secret, authorization)
    if problem:
        raise _unauthorized(problem)


def _connection(
    session: Session,
    provider: str,
    connection_id: str,
    authorization: str | None,
    fields: dict[str, str],
    now: datetime,
) -> str:
    """The business whose verified connection this is; 404 for no such connection, 401/403 for a
    wrong secret (raised before anything is written). Scopes the session to that business."""
    row = session.get(EmailProvider, connection_id)
    if row is None or row.provider != provider:
        raise not_found(f"{provider} connection")
    problem = connection_problem(row, authorization, fields, now)
    if problem:
        raise ApiError(403, "bad_signature", problem) if provider == "mailgun" else _unauthorized(problem)
    session.info[TENANT_KEY] = row.business_id
    return row.business_id


_BASIC: dict[int | str, dict[str, Any]] = {401: {"description": "missing or wrong basic auth"}}


@router.post("/postmark", response_model=Accepted, responses={**_HANDLED, **_BASIC})
def postmark_inbound(
    body: Annotated[bytes, Depends(_raw_body)],
    session: SessionDep,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Accepted:
    _require_basic_auth(runtime, authorization)
    raw = body.decode("utf-8", "replace")
    try:
        data = loads_json(body)
    except DocumentError as exc:
        return _unreadable(session, runtime, "postmark", raw, f"not JSON: {exc}")
    mail = from_postmark(data, fallback_id=digest_id(body))
    return _decide(session, runtime, mail, "postmark", raw)


async def _form(request: Request) -> tuple[dict[str, str], str]:
    """The form's text fields (files, i.e. attachments, are skipped) and the form as JSON text to
    keep when it cannot be read. A body that is not a form reads as no fields."""
    body = await request.body()  # read first: the form parser then reads it from memory
    try:
        form = await request.form(max_files=100, max_fields=_MAX_FORM_FIELDS)
    except Exception:  # Starlette raises assorted errors for a malformed multipart body
        return {}, body.decode("utf-8", "replace")
    fields = {name: value for name, value in form.multi_items() if isinstance(value, str)}
    return fields, json.dumps(fields) if fields else body.decode("utf-8", "replace")


@router.post("/sendgrid", response_model=Accepted, responses={**_HANDLED, **_BASIC})
async def sendgrid_inbound(
    request: Request, runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None
) -> Accepted:
    _require_basic_auth(runtime, authorization)
    fields, raw = await _form(request)
    return await _handle_form(runtime, "sendgrid", fields, raw)


@router.post(
    "/mailgun",
    response_model=Accepted,
    responses={**_HANDLED, 403: {"description": "missing, stale or forged Mailgun signature"}},
)
async def mailgun_inbound(request: Request, runtime: RuntimeDep) -> Accepted:
    fields, raw = await _form(request)
    problem = mailgun_signature_problem(runtime.settings.mailgun_signing_key, fields, runtime.clock.now())
    if problem:
        raise ApiError(403, "bad_signature", problem)
    return await _handle_form(runtime, "mailgun", fields, raw)


ConnectionPath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$")]
_CONNECTION: dict[int | str, dict[str, Any]] = {
    **_HANDLED,
    404: {"description": "no such connection, or no business sends email from the To address"},
}


@router.post("/postmark/{connection_id}", response_model=Accepted, responses={**_CONNECTION, **_BASIC})
def postmark_inbound_for(
    connection_id: ConnectionPath,
    body: Annotated[bytes, Depends(_raw_body)],
    session: SessionDep,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Accepted:
    business_id = _connection(session, "postmark", connection_id, authorization, {}, runtime.clock.now())
    raw = body.decode("utf-8", "replace")
    try:
        data = loads_json(body)
    except DocumentError as exc:
        return _unreadable(session, runtime, "postmark", raw, f"not JSON: {exc}", business_id)
    mail = from_postmark(data, fallback_id=digest_id(body))
    return _decide(session, runtime, mail, "postmark", raw, business_id)


@router.post("/sendgrid/{connection_id}", response_model=Accepted, responses={**_CONNECTION, **_BASIC})
async def sendgrid_inbound_for(
    connection_id: ConnectionPath,
    request: Request,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Accepted:
    fields, raw = await _form(request)
    return await _handle_form(runtime, "sendgrid", fields, raw, (connection_id, authorization))


@router.post(
    "/mailgun/{connection_id}",
    response_model=Accepted,
    responses={**_CONNECTION, 403: {"description": "missing, stale or forged Mailgun signature"}},
)
async def mailgun_inbound_for(connection_id: ConnectionPath, request: Request, runtime: RuntimeDep) -> Accepted:
    fields, raw = await _form(request)
    return await _handle_form(runtime, "mailgun", fields, raw, (connection_id, None))


async def _handle_form(
    runtime: Runtime,
    source: str,
    fields: dict[str, str],
    raw: str,
    connection: tuple[str, str | None] | None = None,
) -> Accepted:
    """`connection`: (id, Authorization header) of a business's own connection, verified here."""

    def run() -> Accepted:
        with transaction(runtime.sessions) as session:
            business_id = None
            if connection is not None:
                business_id = _connection(session, source, connection[0], connection[1], fields, runtime.clock.now())
            if not fields:
                return _unreadable(session, runtime, source, raw, "no form fields", business_id)
            fallback = digest_id(raw.encode())
            parse = from_sendgrid if source == "sendgrid" else from_mailgun
            return _decide(session, runtime, parse(fields, fallback_id=fallback), source, raw, business_id)

    # On a pool thread: the reply's language detection is work, not I/O.
    return await run_in_threadpool(run)
