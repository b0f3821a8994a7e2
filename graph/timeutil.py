"""ISO strings in state, aware datetimes in code."""

from __future__ import annotations

from datetime import datetime

from nudge.clock import as_utc


def to_iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


def from_iso(text: str | None) -> datetime | None:
    return as_utc(datetime.fromisoformat(text)) if text else None
