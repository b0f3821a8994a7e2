"""A hot lead goes to a person: tell the lead, stop the automation."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent import activity, stages
from agent.outbound import ChannelChoice
from graph.context import RunContext
from graph.speak import say
from graph.state import LeadState


def escalate(state: LeadState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    lead, business, now = ctx.lead, ctx.business, ctx.clock.now()
    channel = lead.first_channel if lead.first_channel in ("whatsapp", "sms") else "email"
    to = lead.email if channel == "email" else lead.phone
    sender = {"whatsapp": business.whatsapp_from, "sms": business.sms_from, "email": business.email_from}[channel]
    if to and sender:
        say(
            ctx,
            kind="handoff_notice",
            choice=ChannelChoice(channel, to, sender),
            language=lead.locale or business.default_locale,
            touch=None,
            extra={"rep_eta": "shortly"},
        )
    activity.record(ctx.session, lead, now, "escalated", f"score {lead.score}: handed to a person")
    return {"stage": stages.ESCALATED, "route": "plan", "hot": False}
