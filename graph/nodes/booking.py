"""What a booking does to the lead's run: booked stops the cadence, a reschedule is noted, a
cancellation resumes nurturing with a message offering a new time (agent.booking stores them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent import activity, stages
from agent.assets import Asset
from agent.outbound import choose_channel, opted_out_channels
from graph.context import RunContext
from graph.speak import say

CHANNELS = ("whatsapp", "sms", "email")  # a lead's `first_channel` may be "form": not a way to reach them
BOOKING_SIGNALS = frozenset({"booked", "booking_rescheduled", "booking_cancelled"})
# A lead in these stages is past a meeting: a booking event only leaves a note.
_SETTLED = frozenset({stages.OPTED_OUT, stages.WON, stages.LOST})


def _when(payload: dict[str, Any]) -> str:
    start = payload.get("start_at")
    return f" for {start}" if start else ""


def booking_signal(ctx: RunContext, stage: str, payload: dict[str, Any], now: datetime) -> tuple[str, bool]:
    """(the lead's stage after it, whether nurturing resumes because the meeting was cancelled)."""
    kind = payload.get("type")
    session, lead = ctx.session, ctx.lead
    touch = payload.get("touch")
    if kind == "booked":
        source = f" ({payload['provider']})" if payload.get("provider") else ""
        activity.record(session, lead, now, "conversion", f"booked{_when(payload)}{source}")
        if stage in _SETTLED or stage == stages.BOOKED:
            return stage, False
        activity.record(
            session,
            lead,
            now,
            "stage",
            "booked a meeting" + (f" through the link in touch {touch}" if touch else "") + ": the cadence waits",
        )
        return stages.BOOKED, False
    if kind == "booking_rescheduled":
        activity.record(session, lead, now, "booking", f"meeting moved{_when(payload)}")
        return stage, False
    activity.record(session, lead, now, "booking", "meeting cancelled")
    if stage != stages.BOOKED:
        return stage, False
    activity.record(session, lead, now, "stage", "the booked meeting was cancelled: nurturing resumes")
    return stages.NURTURING, True


def resumed_last_touch(ctx: RunContext, last_touch: int, now: datetime) -> int:
    """The touch nurturing resumes after. Touches that answer in the moment (`follow_up: false`:
    the qualification question minutes after the first reply) are past their moment once a booked
    meeting is cancelled; the next follow-up comes instead."""
    number = last_touch
    while (spec := ctx.sequence.touch(number + 1)) is not None and not spec.follow_up:
        number = spec.number
        activity.record(
            ctx.session,
            ctx.lead,
            now,
            "touch_skipped",
            f"{spec.purpose} answers in the moment; after a cancelled meeting the next follow-up comes instead",
            touch=number,
        )
    return number


def offer_new_time(ctx: RunContext) -> bool:
    """One message: no hard feelings, here is where to pick another time. Sent where the lead last
    wrote, else the first channel that may reach them (opt-outs, consent, WhatsApp's window).
    Whether it was queued."""
    lead, now = ctx.lead, ctx.clock.now()
    language = lead.locale or ctx.business.default_locale
    decision = choose_channel(
        order=tuple(c for c in dict.fromkeys([lead.last_channel or "", "whatsapp", "sms", "email"]) if c in CHANNELS),
        lead=lead,
        business=ctx.business,
        opted_out=opted_out_channels(ctx.session, lead.id),
        now=now,
        purpose="booking_cancelled",
        language=language,
    )
    choice = decision.choice
    if choice is None:
        activity.record(ctx.session, lead, now, "reply_skipped", f"after the cancellation: {decision.explain()}")
        return False
    booking_url = str((ctx.business.profile or {}).get("booking_url") or "")
    asset = Asset(kind="booking", key="booking", values={}, urls={"booking_url": booking_url}) if booking_url else None
    spoken = say(
        ctx,
        kind="booking_cancelled",
        choice=choice,
        language=language,
        touch=None,
        asset=asset,
        required=("booking_url",) if booking_url else (),
    )
    if spoken.message is None:
        activity.record(ctx.session, ctx.lead, now, "reply_skipped", spoken.reason, channel=choice.channel)
    return spoken.message is not None
