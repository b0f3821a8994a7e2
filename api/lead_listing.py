"""Listing and searching a business's leads: filters, search and an opaque keyset cursor.

One place for the API (`GET /v1/leads`) and the console's leads page. Leads come newest first,
ordered by (created_at, id); the cursor holds the last lead's pair, so leads arriving between two
pages never shift or repeat what the next page holds (an offset would). The session's tenant
filter (AGENTS.md rule 10) keeps every query inside the business.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nudge.models import Lead

MAX_LIMIT = 200
_CURSOR_VERSION = 1


class CursorError(ValueError):
    """A cursor this API did not hand out (or one from an older format)."""


@dataclass(frozen=True)
class LeadFilter:
    stage: tuple[str, ...] = ()
    score_min: int | None = None
    score_max: int | None = None
    source: str | None = None
    channel: str | None = None  # the lead came in or last wrote on it
    industry: str | None = None
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created strictly before
    q: str | None = None  # name, phone or email


@dataclass(frozen=True)
class Page:
    leads: list[Lead]
    next_cursor: str | None


def encode_cursor(created_at: datetime, lead_id: str) -> str:
    """Opaque to callers: they hand it back, never build it."""
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    raw = json.dumps([_CURSOR_VERSION, created_at.astimezone(UTC).isoformat(), lead_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, at, lead_id = json.loads(raw)
        if version != _CURSOR_VERSION or not isinstance(at, str) or not isinstance(lead_id, str):
            raise ValueError(version)
        created_at = datetime.fromisoformat(at)
        if created_at.tzinfo is None or len(lead_id) > 40:
            raise ValueError(at)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise CursorError("cursor is not one this API handed out; start again without it") from exc
    return created_at, lead_id


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_terms(q: str) -> tuple[str, str | None]:
    """The text to look for in names and emails, and the digits to look for in phone numbers (a
    query with fewer than three digits is no phone number: '2' would match nearly every lead)."""
    text = " ".join(q.split())
    digits = re.sub(r"\D", "", text)
    return text, digits if len(digits) >= 3 else None


def conditions(spec: LeadFilter) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if spec.stage:
        where.append(Lead.stage.in_(spec.stage))
    if spec.score_min is not None:
        where.append(Lead.score >= spec.score_min)
    if spec.score_max is not None:
        where.append(Lead.score <= spec.score_max)
    if spec.source:
        where.append(Lead.source == spec.source)
    if spec.channel:
        where.append(sa.or_(Lead.first_channel == spec.channel, Lead.last_channel == spec.channel))
    if spec.industry:
        where.append(Lead.industry == spec.industry)
    if spec.since is not None:
        where.append(Lead.created_at >= spec.since)
    if spec.until is not None:
        where.append(Lead.created_at < spec.until)
    if spec.q and spec.q.strip():
        text, digits = search_terms(spec.q)
        pattern = _like(text)
        matches: list[sa.ColumnElement[bool]] = [
            Lead.name.ilike(pattern, escape="\\"),
            Lead.email.ilike(pattern, escape="\\"),
        ]
        if digits:
            matches.append(Lead.phone.contains(digits, autoescape=True))
        where.append(sa.or_(*matches))
    return where


def list_leads(session: Session, spec: LeadFilter, *, limit: int = 50, cursor: str | None = None) -> Page:
    """One page of the session's business's leads, newest first. Raises `CursorError`."""
    limit = max(1, min(limit, MAX_LIMIT))
    query = sa.select(Lead).where(*conditions(spec))
    if cursor:
        created_at, lead_id = decode_cursor(cursor)
        query = query.where(
            sa.or_(Lead.created_at < created_at, sa.and_(Lead.created_at == created_at, Lead.id < lead_id))
        )
    rows = list(session.scalars(query.order_by(Lead.created_at.desc(), Lead.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id) if more else None
    return Page(leads=rows, next_cursor=next_cursor)
