"""The lead's industry, detected once from what they wrote (and the form field).

Touch 1 does not need it, so a run that only sends touch 1 leaves it for the next run: the
instant reply then leaves without waiting for an embedding. Whatever needs the industry in the
same run (a hot lead's handoff) asks for it with `ensure_industry`.
"""

from __future__ import annotations

from typing import Any

from agent import activity
from graph.context import RunContext
from graph.state import LeadState


def ensure_industry(ctx: RunContext, state: LeadState) -> dict[str, Any]:
    """Detect the industry unless done already; returns the state update that records it."""
    if state.get("industry_checked") or ctx.knowledge is None:
        return {}
    lead = ctx.lead
    detected = ctx.knowledge.detect_industry(
        ctx.business.profile or {}, lead.first_message, lead.industry, lead.locale or ctx.business.default_locale
    )
    if detected and detected != lead.industry:
        activity.record(ctx.session, lead, ctx.clock.now(), "industry", f"{lead.industry or 'unknown'} → {detected}")
        lead.industry = detected
    return {"industry_checked": True}
