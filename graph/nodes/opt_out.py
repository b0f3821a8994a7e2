"""The lead asked to hear nothing more: confirm once, suppress every channel, stop."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from sqlalchemy import select

from agent import activity, stages
from agent.audiences.jobs import queue_audience
from agent.channels.sms import carrier_answers
from agent.outbound import free_text_choice
from agent.suppression import suppress
from graph.context import RunContext
from graph.speak import say
from graph.state import LeadState
from nudge.models import Message


def opt_out(state: LeadState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    session, lead, now = ctx.session, ctx.lead, ctx.clock.now()
    already = state.get("stage") == stages.OPTED_OUT
    inbound = session.scalars(
        select(Message).where(Message.id.in_(state.get("reply_ids", []))).order_by(Message.created_at.desc())
    ).first()
    if not already and inbound is not None and not carrier_answers(inbound.channel, inbound.body):
        # The confirmation goes out before the suppression so it is the last thing they get.
        choice = free_text_choice(lead, ctx.business, inbound.channel)
        if choice is not None:
            say(
                ctx,
                kind="optout_confirm",
                choice=choice,
                language=lead.locale or ctx.business.default_locale,
                touch=None,
            )
    suppress(session, lead, "all", "the lead asked to stop", now)
    queue_audience(session, lead, ctx.business, "remove", "opted_out", now)
    activity.record(
        session, lead, now, "opted_out", "natural-language opt-out", channel=inbound.channel if inbound else None
    )
    return {"stage": stages.OPTED_OUT, "route": "plan"}
