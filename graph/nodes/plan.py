"""Last node of every run: what comes next for this lead, mirrored onto the lead row."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from langgraph.runtime import Runtime

from agent import activity, experiments, stages
from agent.policies import zone
from graph.cadence import planned_time, send_window
from graph.context import RunContext
from graph.state import LeadState
from graph.timeutil import from_iso, to_iso

# A lead who talked after the last touch has nothing left to be sent; a week without a word from
# them ends the conversation, so no lead is left `conversing` with nothing planned.
CONVERSATION_QUIET = timedelta(days=7)


def _next_touch(state: LeadState, ctx: RunContext) -> tuple[int | None, datetime | None]:
    stage = state.get("stage", stages.NEW)
    if stage in stages.NO_AUTOMATION:
        return None, None
    if state.get("route") == "hold":  # the touch waits for quiet hours / the daily cap
        return state.get("next_touch"), from_iso(state.get("next_due_at"))
    last = state.get("last_touch", 0)
    if stage == stages.CLOSED:
        # Not interested or asked to close the file: only the no-pitch re-engagement remains.
        reengagement = ctx.sequence.by_purpose("reengagement")
        number = reengagement.number if reengagement and reengagement.number > last else None
    else:
        number = last + 1 if last < ctx.sequence.last else None
    if number is None:
        return None, None
    spec = ctx.sequence.touches[number - 1]
    anchor = from_iso(state.get("anchor_at")) or ctx.lead.created_at
    # The send-time check in `touch` stays the guard; planning with the same rules just saves a
    # run that would only be told to wait for the morning.
    last_follow_up, engaged = from_iso(state.get("last_follow_up_at")), from_iso(state.get("engaged_at"))
    due = planned_time(ctx, spec, anchor, last_follow_up, engaged=engaged)
    paused = from_iso(state.get("paused_until"))
    if paused is not None and due < paused:
        due = paused  # the lead asked us to come back then: nothing before (graph.acts.pause_until)
    now = ctx.clock.now()
    if engaged == now:  # this run read the click
        usual = planned_time(ctx, spec, anchor, last_follow_up)
        if due < usual:
            tz = zone(send_window(ctx)[0])
            activity.record(
                ctx.session,
                ctx.lead,
                now,
                "engaged",
                f"opened one of our links: touch {number} comes {due.astimezone(tz):%a %d %b %H:%M} "
                f"instead of {usual.astimezone(tz):%a %d %b %H:%M} ({tz.key})",
                touch=number,
            )
    return number, due


def plan(state: LeadState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    lead, now = ctx.lead, ctx.clock.now()
    number, due = _next_touch(state, ctx)
    stage = state.get("stage", stages.NEW)
    sequence_done = number is None and state.get("last_touch", 0) >= ctx.sequence.last
    quiet_check: datetime | None = None
    if sequence_done and stage == stages.CONVERSING:
        # Nothing is left to send, so only the lead's silence can end the conversation: a timer
        # (the dispatcher's quiet check) brings the lead back here once it has lasted long enough.
        quiet_check = (from_iso(state.get("anchor_at")) or lead.created_at) + CONVERSATION_QUIET
        if quiet_check <= now:
            quiet_check, stage = None, stages.NURTURE_COMPLETE
            activity.record(
                ctx.session,
                lead,
                now,
                "stage",
                f"every touch of the sequence is done and the lead has not written for {CONVERSATION_QUIET.days} days",
            )
    elif sequence_done and stage not in stages.NO_AUTOMATION:
        stage = stages.NURTURE_COMPLETE
        activity.record(ctx.session, lead, now, "stage", "every touch of the sequence is done")
    if stage != lead.stage:
        activity.record_stage(ctx.session, lead, now, lead.stage, stage)
    lead.stage = stage
    lead.last_touch = state.get("last_touch", 0)
    lead.next_touch = number
    lead.next_due_at = due
    spec = ctx.sequence.touch(number) if number else None
    lead.next_channel = experiments.channel_order(experiments.assign(lead.id, spec), spec)[0] if spec else None
    anchor = from_iso(state.get("anchor_at"))
    if anchor is not None:
        lead.last_contact_at = anchor
    lead.updated_at = now
    update: dict[str, Any] = {"stage": stage, "next_touch": number, "next_due_at": to_iso(due), "inbox": []}
    if quiet_check is not None or state.get("quiet_check_at"):  # a key every checkpoint carries costs bytes
        update["quiet_check_at"] = to_iso(quiet_check)
    return update
