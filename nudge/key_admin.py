"""Managing API keys: list by prefix, create, rotate and revoke, within what the caller may manage.

Shared by the API (`/v1/keys`) and the CLI (`nudge tenant key …`). Who may manage what is decided
here once, by `KeyOwner`: an agency key manages its own agency keys and every key of its
businesses (only that business's when it names one with X-Nudge-Tenant); a business key manages its
business's keys (business and rep keys); the operator's CLI manages everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nudge.models import ApiKey, Business, Rep
from nudge.tenants import issue_key

KEY_KINDS = ("agency", "business", "rep")


class KeyAdminError(ValueError):
    """The request cannot be done; `code` is the API error code, the message says why."""

    def __init__(self, code: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.code, self.status = code, status


@dataclass(frozen=True)
class KeyOwner:
    """Whose keys a caller may manage. Both None: the operator (CLI), everything."""

    agency_id: str | None = None
    business_id: str | None = None


@dataclass(frozen=True)
class IssuedKey:
    record: ApiKey
    plaintext: str  # shown once


def manageable(owner: KeyOwner) -> sa.Select[ApiKey]:
    query = sa.select(ApiKey)
    if owner.business_id is not None:
        return query.where(ApiKey.business_id == owner.business_id)
    if owner.agency_id is not None:
        businesses = sa.select(Business.id).where(Business.agency_id == owner.agency_id)
        return query.where(
            sa.or_(
                sa.and_(ApiKey.kind == "agency", ApiKey.agency_id == owner.agency_id),
                ApiKey.business_id.in_(businesses),
            )
        )
    return query


def list_keys(session: Session, owner: KeyOwner, prefix: str = "") -> list[ApiKey]:
    query = manageable(owner)
    if prefix:
        query = query.where(ApiKey.prefix.startswith(prefix, autoescape=True))
    return list(session.scalars(query.order_by(ApiKey.created_at, ApiKey.prefix)))


def find_key(session: Session, owner: KeyOwner, prefix: str) -> ApiKey | None:
    return session.scalars(manageable(owner).where(ApiKey.prefix == prefix)).first()


def create_key(
    session: Session,
    owner: KeyOwner,
    *,
    kind: str,
    now: datetime,
    business_id: str | None = None,
    rep_id: str | None = None,
    label: str = "",
) -> IssuedKey:
    """A new key; `business_id` is taken from the owner when it is bound to one business."""
    if kind not in KEY_KINDS:
        raise KeyAdminError("invalid", f"kind must be one of {', '.join(KEY_KINDS)}")
    business_id = owner.business_id or business_id
    if kind == "agency":
        if owner.business_id is not None or business_id is not None:
            raise KeyAdminError("invalid", "an agency key belongs to the agency, not to a business", 422)
        if owner.agency_id is None:
            raise KeyAdminError("invalid", "name the agency the key belongs to")
        if rep_id is not None:
            raise KeyAdminError("invalid", "rep_id is only for rep keys")
        return _issue(session, "agency", now, agency_id=owner.agency_id, label=label)
    if business_id is None:
        raise KeyAdminError(
            "tenant_required", f"a {kind} key belongs to a business: name it with 'X-Nudge-Tenant'", 400
        )
    business = session.get(Business, business_id)
    if business is None or (owner.agency_id is not None and business.agency_id != owner.agency_id):
        raise KeyAdminError("not_found", "business not found", 404)
    if kind == "business":
        if rep_id is not None:
            raise KeyAdminError("invalid", "rep_id is only for rep keys")
        return _issue(session, "business", now, agency_id=business.agency_id, business_id=business.id, label=label)
    if rep_id is None:
        raise KeyAdminError("invalid", "rep_id: a rep key acts for one rep; name it")
    rep = session.get(Rep, rep_id)
    if rep is None or rep.business_id != business.id:
        raise KeyAdminError("not_found", "rep not found", 404)
    return _issue(
        session, "rep", now, agency_id=business.agency_id, business_id=business.id, rep_id=rep.id, label=label
    )


def _issue(session: Session, kind: str, now: datetime, *, label: str = "", **scope: str | None) -> IssuedKey:
    record, plaintext = issue_key(session, kind, now, label=label or kind, **scope)
    return IssuedKey(record=record, plaintext=plaintext)


def rotate_key(session: Session, owner: KeyOwner, prefix: str, now: datetime) -> IssuedKey | None:
    """Revoke the key and issue its replacement (same kind, scope and label). None: not found."""
    old = find_key(session, owner, prefix)
    if old is None or old.revoked_at is not None:
        return None
    old.revoked_at = now
    return _issue(
        session,
        old.kind,
        now,
        agency_id=old.agency_id,
        business_id=old.business_id,
        rep_id=old.rep_id,
        label=old.label,
    )


def revoke_key(session: Session, owner: KeyOwner, prefix: str, now: datetime) -> ApiKey | None:
    """Stop the key working at once (idempotent). None: not found."""
    record = find_key(session, owner, prefix)
    if record is None:
        return None
    if record.revoked_at is None:
        record.revoked_at = now
    session.flush()
    return record
