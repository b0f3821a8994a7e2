"""A business's own inbound email providers: `/v1/email-providers/{provider}` configures Postmark,
SendGrid or Mailgun to post the business's mail to `/webhooks/email/{provider}/{id}` (api/routes/
email.py), verified with this business's secret rather than the server-wide settings.

Postmark and SendGrid sign nothing: their webhook URL carries basic auth, with a password Nudge
generates, answers once (at creation and at rotation) and keeps only as a SHA-256. Mailgun signs
with the account's webhook signing key, which the business gives; it is write-only."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import BusinessDep, RuntimeDep, SessionDep
from api.errors import ERROR_RESPONSES, ApiError
from api.json_body import BoundedJsonRoute
from api.schemas import Strict
from nudge.models import EmailProvider

router = APIRouter(
    route_class=BoundedJsonRoute, prefix="/v1/email-providers", tags=["email providers"], responses=ERROR_RESPONSES
)

ProviderName = Literal["postmark", "sendgrid", "mailgun"]
ProviderPath = Annotated[ProviderName, Path(description="postmark | sendgrid | mailgun")]
BASIC_AUTH = frozenset({"postmark", "sendgrid"})
USERNAME = "nudge"  # the basic-auth user name; only the password is checked


def password_digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


class EmailProviderIn(Strict):
    # Mailgun only: required when first configured; left out, the stored one is kept.
    signing_key: Annotated[
        str | None,
        Field(
            min_length=8,
            max_length=200,
            pattern=r"^[\x21-\x7e]+$",
            description="Mailgun's HTTP webhook signing key (Mailgun only; write-only)",
        ),
    ] = None
    rotate_password: Annotated[
        bool,
        Field(strict=True, description="Postmark and SendGrid only: a new password; the old one stops at once"),
    ] = False


class EmailProviderOut(BaseModel):
    provider: str
    configured: bool
    id: str | None = None
    inbound_url: str | None = Field(default=None, description="where the provider posts (without credentials)")
    username: str | None = Field(default=None, description="the basic-auth user (Postmark, SendGrid)")
    password_set: bool = False
    signing_key_set: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None


class EmailProviderSaved(EmailProviderOut):
    password: str | None = Field(
        default=None, description="the basic-auth password: answered when made (first PUT, rotation) only"
    )
    paste_url: str | None = Field(
        default=None, description="the URL to paste into the provider (with the password when it is answered)"
    )


class EmailProviderList(BaseModel):
    providers: list[EmailProviderOut]


def inbound_url(public_url: str, row: EmailProvider) -> str:
    return f"{public_url.rstrip('/')}/webhooks/email/{row.provider}/{row.id}"


def _with_credentials(url: str, password: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{USERNAME}:{password}@{parts.netloc}"))


def _out(provider: str, row: EmailProvider | None, public_url: str) -> dict[str, Any]:
    if row is None:
        return {"provider": provider, "configured": False}
    basic = row.provider in BASIC_AUTH
    return {
        "provider": row.provider,
        "configured": True,
        "id": row.id,
        "inbound_url": inbound_url(public_url, row),
        "username": USERNAME if basic else None,
        "password_set": bool(row.password_sha256),
        "signing_key_set": bool(row.signing_key),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _find(session: SessionDep, provider: str) -> EmailProvider | None:
    # the session is scoped to the business (AGENTS.md rule 10)
    return session.scalars(select(EmailProvider).where(EmailProvider.provider == provider)).first()


@router.get("", response_model=EmailProviderList)
def list_providers(business: BusinessDep, session: SessionDep, runtime: RuntimeDep) -> EmailProviderList:
    rows = session.scalars(select(EmailProvider).order_by(EmailProvider.provider)).all()
    public_url = runtime.settings.public_url
    return EmailProviderList(providers=[EmailProviderOut(**_out(r.provider, r, public_url)) for r in rows])


@router.get("/{provider}", response_model=EmailProviderOut)
def read_provider(
    provider: ProviderPath, business: BusinessDep, session: SessionDep, runtime: RuntimeDep
) -> EmailProviderOut:
    return EmailProviderOut(**_out(provider, _find(session, provider), runtime.settings.public_url))


_PUT_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"description": "invalid, or a field this provider does not use (signing_key, rotate_password)"}
}


@router.put("/{provider}", response_model=EmailProviderSaved, responses=_PUT_RESPONSES)
def save_provider(
    provider: ProviderPath, body: EmailProviderIn, business: BusinessDep, session: SessionDep, runtime: RuntimeDep
) -> EmailProviderSaved:
    basic = provider in BASIC_AUTH
    if basic and body.signing_key is not None:
        raise ApiError(422, "invalid", f"signing_key: {provider} signs nothing; Nudge makes a basic-auth password")
    if not basic and body.rotate_password:
        raise ApiError(422, "invalid", "rotate_password: Mailgun uses its signing key; send a new signing_key")
    row = _find(session, provider)
    now = runtime.clock.now()
    if row is None:
        if not basic and body.signing_key is None:
            raise ApiError(422, "invalid", "signing_key: required when Mailgun is first configured")
        row = EmailProvider(business_id=business.id, provider=provider, created_at=now)
        session.add(row)
    password = None
    if basic and (row.password_sha256 is None or body.rotate_password):
        password = secrets.token_urlsafe(24)
        row.password_sha256 = password_digest(password)
    if body.signing_key is not None:
        row.signing_key = body.signing_key
    row.updated_at = now
    session.flush()
    out = _out(provider, row, runtime.settings.public_url)
    url = out["inbound_url"]
    paste = _with_credentials(url, password) if password is not None else url
    return EmailProviderSaved(**out, password=password, paste_url=paste)


@router.delete("/{provider}", status_code=204, response_class=Response)
def delete_provider(provider: ProviderPath, business: BusinessDep, session: SessionDep) -> Response:
    row = _find(session, provider)
    if row is not None:
        session.delete(row)
    return Response(status_code=204)
