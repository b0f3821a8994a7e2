"""First node of every run: read the drained mailbox events and decide where the run goes."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent import activity, stages
from agent.audiences.jobs import queue_audience
from graph.context import RunContext
from graph.industry import ensure_industry
from graph.nodes.await_rep import conversion_detail
from graph.nodes.booking import BOOKING_SIGNALS, booking_signal, offer_new_time, resumed_last_touch
from graph.state import LeadState
from graph.timeutil import to_iso
from nudge.models import Message

OUTSIDE_SIGNALS = {"converted": stages.WON, "won": stages.WON, "lost": stages.LOST, "unsubscribed": stages.OPTED_OUT}


def absorb(state: LeadState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    now = ctx.clock.now()
    update: dict[str, Any] = {
        "lead_id": ctx.lead.id,
        "runs": state.get("runs", 0) + 1,
        "route": "idle",
        "due_touch": None,
        "reply_ids": [],
        "failed_message_id": None,
    }
    stage = state.get("stage", stages.NEW)
    if "anchor_at" not in state:
        update["anchor_at"] = to_iso(ctx.lead.created_at)
    replies: list[str] = []
    clicked = False  # the lead opened one of our links
    rebook = False  # the lead cancelled the meeting they had booked
    due: int | None = None
    for item in state.get("inbox", []):
        kind, payload = item["kind"], item["payload"]
        if kind == "inbound":
            replies.append(str(payload["message_id"]))
        elif kind == "lead_created" and state.get("last_touch", 0) == 0:
            due = 1
        elif kind == "touch_due" and payload.get("touch") == state.get("next_touch"):
            due = int(payload["touch"])
        elif kind == "delivery_failed":
            message = ctx.session.get(Message, str(payload["message_id"]))
            if message is not None and message.touch is not None:
                due, update["failed_message_id"] = message.touch, message.id
        elif kind == "click":
            clicked = True
        elif kind == "signal" and payload.get("type") in BOOKING_SIGNALS:
            stage, cancelled = booking_signal(ctx, stage, payload, now)
            if cancelled:
                update["anchor_at"], rebook = to_iso(now), True  # the cadence resumes from now
                update["last_touch"] = resumed_last_touch(ctx, state.get("last_touch", 0), now)
        elif kind == "signal":
            new_stage = OUTSIDE_SIGNALS.get(str(payload.get("type")))
            if new_stage and stage not in (stages.OPTED_OUT, new_stage):
                stage = new_stage
                activity.record(ctx.session, ctx.lead, now, "stage", f"{payload.get('type')} (outside signal)")
                if new_stage in (stages.WON, stages.OPTED_OUT):  # a customer or an opt-out is not retargeted
                    queue_audience(ctx.session, ctx.lead, ctx.business, "remove", str(payload.get("type")), now)
                if new_stage == stages.WON:
                    activity.record(ctx.session, ctx.lead, now, "conversion", conversion_detail(payload))
    update["stage"] = stage
    if rebook and not replies and offer_new_time(ctx):
        update["last_follow_up_at"] = to_iso(now)  # unsolicited: the daily cap keeps the next touch to another day
    # Touch 1 alone does not need the industry (graph/industry.py), and a lead's first message is
    # answered by touch 1 unless converse routes it elsewhere (converse then asks for it).
    if (replies and state.get("last_touch", 0)) or due not in (None, 1):
        update.update(ensure_industry(ctx, state))

    if replies:
        if state.get("engaged_at"):
            update["engaged_at"] = None  # a reply moves the cadence on its own (from the new last contact)
    elif clicked and stage not in stages.NO_AUTOMATION and stage != stages.CLOSED:
        # A click is the lead's attention without words: `plan` brings the next follow-up sooner.
        update["engaged_at"] = to_iso(now)
    if replies:
        update["reply_ids"] = replies
        update["route"] = "converse"
    elif due is not None and stage not in stages.NO_AUTOMATION:
        update["due_touch"] = due
        update["route"] = "touch"
    return update
