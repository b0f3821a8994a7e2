"""Who is calling: the key that authenticated the request and what it acts on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    kind: str  # agency | business | rep
    key_id: str
    key_prefix: str
    agency_id: str | None
    business_id: str | None  # the business acted on (an agency key names it with X-Nudge-Tenant)
    rep_id: str | None = None  # a rep key acts only for this rep
