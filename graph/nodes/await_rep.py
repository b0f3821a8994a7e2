"""Waiting for a person: the graph pauses at interrupt() until a rep acts or the SLA runs out.

While the handoff is open or claimed the bot sends nothing automated: the lead's messages are
forwarded to the rep, the rep's replies go to the lead, and an unclaimed handoff is re-sent to
the next rep (then the business's fallback contact) each time the SLA runs out.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agent import activity, stages
from agent.handoff import FALLBACK, choose_rep, notify, sla_deadline, summary_text
from agent.outbound import choose_channel, opted_out_channels, queue_message
from agent.qualifier import is_opt_out
from agent.suppression import suppress
from graph.context import RunContext
from graph.nodes.escalate import lead_channel
from graph.speak import lead_values, say
from graph.state import InboxItem, LeadState
from graph.timeutil import to_iso
from nudge.models import Handoff, Message, Rep


def conversion_detail(payload: dict[str, Any]) -> str:
    value, currency = payload.get("value"), payload.get("currency")
    return f"{value} {currency or ''}".strip() if value is not None else "won"


OUTCOME_STAGE = {"won": stages.WON, "lost": stages.LOST, "nurture": stages.NURTURING}


def await_rep(state: LeadState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    handoff_id = state.get("handoff_id")
    resumed = interrupt({"waiting_for": "rep", "handoff_id": handoff_id})
    ctx = runtime.context
    session, lead, now = ctx.session, ctx.lead, ctx.clock.now()
    handoff = session.get(Handoff, handoff_id) if handoff_id else None
    if handoff is None:
        return {"route": "plan", "stage": stages.NURTURING, "handoff_id": None, "sla_check_at": None}
    update: dict[str, Any] = {"route": "await_rep"}
    inbox: list[InboxItem] = resumed.get("inbox", []) if isinstance(resumed, dict) else []
    for item in inbox:
        kind, payload = item["kind"], item["payload"]
        if kind == "inbound":
            _forward(ctx, handoff, str(payload["message_id"]), update)
        elif kind == "rep_reply":
            _rep_reply(ctx, handoff, str(payload["text"]), payload.get("rep_id"), payload.get("template"))
        elif kind == "handoff_sla" and handoff.status == "open":
            _sla_ran_out(ctx, handoff, state, update)
        elif kind == "handoff_resolved" or (kind == "signal" and payload.get("type") in ("converted", "won", "lost")):
            outcome = str(payload.get("outcome") or ("lost" if payload.get("type") == "lost" else "won"))
            stage = OUTCOME_STAGE.get(outcome, stages.NURTURING)
            activity.record(session, lead, now, "handoff_resolved", f"{handoff.id}: {outcome}")
            if stage == stages.WON:
                activity.record(session, lead, now, "conversion", conversion_detail(payload))
            update.update(route="plan", stage=stage, handoff_id=None, sla_check_at=None, anchor_at=to_iso(now))
            if stage == stages.NURTURING:
                update["clarify_turns"] = 0
            return update
    if handoff.status != "open":
        update["sla_check_at"] = None  # claimed: the SLA is met
    return update


def _forward(ctx: RunContext, handoff: Handoff, message_id: str, update: dict[str, Any]) -> None:
    session, lead, now = ctx.session, ctx.lead, ctx.clock.now()
    message = session.get(Message, message_id)
    if message is None:
        return
    update["anchor_at"] = to_iso(now)
    if is_opt_out(message.body):
        suppress(session, lead, "all", "the lead asked to stop (during a handoff)", now)
        activity.record(session, lead, now, "opted_out", "during a handoff; the rep is told")
    rep = (
        session.get(Rep, handoff.claimed_by or handoff.assigned_rep_id)
        if (handoff.claimed_by or handoff.assigned_rep_id)
        else None
    )
    ctx.notifications += notify(
        session,
        business=ctx.business,
        handoff=handoff,
        rep=rep,
        fallback=None if rep else (ctx.business.profile or {}).get("fallback_contact"),
        text=f"{lead.name or 'The lead'} wrote ({message.channel}): {message.body}",
        subject=f"New message from {lead.name or lead.id}",
        now=now,
        public_url=ctx.public_url,
    )
    activity.record(
        session,
        lead,
        now,
        "forwarded",
        "the lead's message went to the rep; the bot stays quiet",
        channel=message.channel,
    )


def _rep_reply(ctx: RunContext, handoff: Handoff, text: str, rep_id: object, template: object = None) -> None:
    """The rep's words on the lead's channel. Outside WhatsApp's 24-hour window only an approved
    template may go: the one the rep picked (`template`: its purpose), else the `rep_reply` one."""
    session, lead, now = ctx.session, ctx.lead, ctx.clock.now()
    preferred = lead_channel(ctx)
    order = [preferred.channel] if preferred else []
    order += [c for c in ("whatsapp", "sms", "email") if c not in order]
    decision = choose_channel(
        order=order,
        lead=lead,
        business=ctx.business,
        opted_out=opted_out_channels(session, lead.id),
        now=now,
        purpose=template if isinstance(template, str) and template else "rep_reply",
        language=lead.locale or ctx.business.default_locale,
    )
    if decision.choice is None:
        activity.record(
            session, lead, now, "reply_skipped", "the rep's reply has no channel: " + "; ".join(decision.passed_over)
        )
        return
    info: dict[str, object] = {"kind": "rep_reply", "rep_id": rep_id}
    body, composer, sid, variables = text, "human", None, None
    if decision.choice.template is not None:
        variables, body = decision.choice.template.render(lead_values(ctx))
        composer, sid = "template", decision.choice.template.content_sid
        info["template_purpose"] = template if isinstance(template, str) and template else "rep_reply"
    queue_message(
        session,
        lead=lead,
        choice=decision.choice,
        body=body,
        now=now,
        touch=None,
        author="rep",
        composer=composer,
        subject=f"{ctx.business.name}",
        template_sid=sid,
        template_variables=variables,
        info=info,
    )
    ctx.forget_history()


def _sla_ran_out(ctx: RunContext, handoff: Handoff, state: LeadState, update: dict[str, Any]) -> None:
    """Unclaimed past the SLA: the next rep, then the business's fallback contact, then stop."""
    session, lead, business, now = ctx.session, ctx.lead, ctx.business, ctx.clock.now()
    notified = [str(n["rep_id"]) for n in handoff.notified]
    fallback = (business.profile or {}).get("fallback_contact")
    rep = choose_rep(session, business.id, lead.industry, notified)
    if rep is not None:
        handoff.assigned_rep_id, rep.last_assigned_at, target = rep.id, now, rep.name
    elif fallback and FALLBACK not in notified:
        target = "the fallback contact"
    else:
        activity.record(session, lead, now, "handoff_sla", f"{handoff.id} still unclaimed; everyone was notified")
        update["sla_check_at"] = None
        return
    handoff.notified = [*handoff.notified, {"rep_id": rep.id if rep else FALLBACK, "at": now.isoformat()}]
    ctx.notifications += notify(
        session,
        business=business,
        handoff=handoff,
        rep=rep,
        fallback=None if rep else fallback,
        text=summary_text(handoff.summary, business, reminder=True),
        subject=f"Unclaimed hot lead: {lead.name or lead.id}",
        now=now,
        public_url=ctx.public_url,
    )
    activity.record(session, lead, now, "handoff_sla", f"{handoff.id} unclaimed after the SLA: re-sent to {target}")
    if not state.get("kept_warm"):
        choice = lead_channel(ctx)
        if choice is not None:
            spoken = say(
                ctx, kind="keep_warm", choice=choice, language=lead.locale or business.default_locale, touch=None
            )
            update["kept_warm"] = spoken.message is not None
    handoff.sla_due_at = sla_deadline(business, now)
    update["sla_check_at"] = to_iso(handoff.sla_due_at)
