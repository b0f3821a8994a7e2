"""Creating businesses (tenants) and agencies with their keys; shared by the CLI and the API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from nudge.keys import generate_key
from nudge.models import Agency, ApiKey, Business


@dataclass(frozen=True)
class CreatedTenant:
    business: Business
    api_key: str


def create_business(
    session: Session,
    *,
    name: str,
    now: datetime,
    agency_id: str | None = None,
    fields: Mapping[str, Any] | None = None,
) -> CreatedTenant:
    business = Business(name=name, agency_id=agency_id, created_at=now, updated_at=now, **dict(fields or {}))
    session.add(business)
    session.flush()
    _, key = issue_key(session, "business", now, agency_id=agency_id, business_id=business.id)
    return CreatedTenant(business=business, api_key=key)


@dataclass(frozen=True)
class CreatedAgency:
    agency: Agency
    api_key: str


def create_agency(session: Session, *, name: str, now: datetime) -> CreatedAgency:
    agency = Agency(name=name, created_at=now)
    session.add(agency)
    session.flush()
    _, key = issue_key(session, "agency", now, agency_id=agency.id)
    return CreatedAgency(agency=agency, api_key=key)


def issue_key(
    session: Session,
    kind: str,
    now: datetime,
    *,
    agency_id: str | None = None,
    business_id: str | None = None,
    rep_id: str | None = None,
    label: str = "default",
) -> tuple[ApiKey, str]:
    """Store a new key's hash; returns the row and the plaintext (shown once, never stored)."""
    key = generate_key(kind)
    record = ApiKey(
        prefix=key.prefix,
        key_hash=key.key_hash,
        kind=kind,
        agency_id=agency_id,
        business_id=business_id,
        rep_id=rep_id,
        label=label,
        created_at=now,
    )
    session.add(record)
    session.flush()
    return record, key.plaintext
