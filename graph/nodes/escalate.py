"""A hot lead goes to a person: open a handoff, notify a rep, tell the lead, stop the automation."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent import activity, stages
from agent.events.log import LEAD_ESCALATED, emit, lead_snapshot
from agent.handoff import FALLBACK, build_summary, choose_rep, notify, rep_eta, sla_deadline, summary_text
from agent.outbound import ChannelChoice, free_text_choice
from graph.context import RunContext
from graph.industry import ensure_industry
from graph.speak import say
from graph.state import LeadState
from graph.timeutil import to_iso
from nudge.models import Handoff


def lead_channel(ctx: RunContext) -> ChannelChoice | None:
    """Where the lead last spoke to us (or came from), as a free-text channel choice."""
    lead = ctx.lead
    for channel in (lead.last_channel or lead.first_channel, "whatsapp", "sms", "email"):
        if (choice := free_text_choice(lead, ctx.business, channel)) is not None:
            return choice
    return None


def escalate(state: LeadState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    session, lead, business, now = ctx.session, ctx.lead, ctx.business, ctx.clock.now()
    checked = ensure_industry(ctx, state)  # a hot lead is handed over in its first run
    language = lead.locale or business.default_locale
    case_study = None
    if ctx.knowledge is not None:
        pick = ctx.knowledge.pick_case_study(
            business.id, business.profile or {}, lead.first_message, lead.industry, language, frozenset()
        )
        if pick is not None:
            case_study = {"id": pick.id, "title": pick.title, "result": pick.summary, "url": pick.url}
    handoff = Handoff(
        id=ctx.ids("hof"),  # named in the decision below
        business_id=business.id,
        lead_id=lead.id,
        created_at=now,
        summary=build_summary(session, lead, business, state.get("qualification") or {}, case_study),
        sla_due_at=sla_deadline(business, now),
    )
    session.add(handoff)
    session.flush()
    rep = choose_rep(session, business.id, lead.industry, ())
    if rep is not None:
        handoff.assigned_rep_id = rep.id
        handoff.notified = [{"rep_id": rep.id, "at": now.isoformat()}]
        rep.last_assigned_at = now
    else:
        handoff.notified = [{"rep_id": FALLBACK, "at": now.isoformat()}]
    reached = ctx.notifications = notify(
        session,
        business=business,
        handoff=handoff,
        rep=rep,
        fallback=None if rep else (business.profile or {}).get("fallback_contact"),
        text=summary_text(handoff.summary, business),
        subject=f"Hot lead: {lead.name or lead.id}",
        now=now,
        public_url=ctx.public_url,
    )
    choice = lead_channel(ctx)
    if choice is not None:
        say(
            ctx,
            kind="handoff_notice",
            choice=choice,
            language=language,
            touch=None,
            extra={
                "rep_eta": rep_eta(business, now, language, staffed=reached > 0),
                "rep_name": rep.name.split()[0] if rep else "",
            },
            # With nobody to tell, the wording that says so must be used.
            required=() if reached else ("rep_eta",),
        )
    if not reached:
        activity.record(session, lead, now, "unstaffed", "no rep and no fallback contact to notify: no time promised")
    activity.record(
        session,
        lead,
        now,
        "escalated",
        f"score {lead.score}: handoff {handoff.id} to {rep.name if rep else 'the fallback contact'}"
        f" ({reached} notification(s))",
    )
    escalated = {"lead": lead_snapshot(lead), "handoff_id": handoff.id, "summary": handoff.summary}
    emit(session, business_id=business.id, lead_id=lead.id, type=LEAD_ESCALATED, data=escalated, now=now)
    # The graph now waits at interrupt(), so `plan` will not mirror this run onto the lead row.
    if lead.stage != stages.ESCALATED:
        activity.record_stage(session, lead, now, lead.stage, stages.ESCALATED)
    lead.stage, lead.next_touch, lead.next_due_at, lead.next_channel = stages.ESCALATED, None, None, None
    lead.last_touch = state.get("last_touch", lead.last_touch)
    return {
        "stage": stages.ESCALATED,
        "route": "await_rep",
        "hot": False,
        "handoff_id": handoff.id,
        "sla_check_at": to_iso(handoff.sla_due_at),
        "kept_warm": False,
        **checked,
    }
