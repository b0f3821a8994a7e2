"""Sending touch N of the sequence, after every send-time policy has had its say."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from langgraph.runtime import Runtime

from agent import activity, experiments, stages
from agent.assets import Asset, case_study_asset, content_asset, offer_asset, resource_asset
from agent.audiences.jobs import queue_audience
from agent.outbound import choose_channel, opted_out_channels
from agent.policies import next_after_daily_cap, next_send_time, zone
from agent.sequence import Touch
from graph.cadence import planned_time, send_window
from graph.context import RunContext
from graph.speak import say
from graph.state import LeadState
from graph.timeutil import from_iso, to_iso

STAGE_AFTER = {"instant_reply": stages.CONTACTED, "qualification": stages.QUALIFYING}


def _latest_due(ctx: RunContext, state: LeadState, number: int, anchor: datetime, now: datetime) -> int:
    """After downtime several touches may be overdue: only the latest of them is sent.

    A touch is stale only when the scheduler fell so far behind that the touch after it would
    already have gone out had Nudge been running: planned the way `plan` plans it (its delay for
    this lead, one follow-up a day after this touch, quiet hours) from the time this touch was
    planned for. Measuring from the raw delays instead would skip a touch that a weekend, the
    night or the daily cap held past the next touch's delay, or that shares its delay with the
    next touch; those go out in order, one a day.
    """
    if state.get("failed_message_id"):
        return number  # another channel's try of a touch that already went out when planned
    spec = ctx.sequence.touches[number - 1]
    last_follow_up = from_iso(state.get("last_follow_up_at"))
    planned = from_iso(state.get("next_due_at")) if state.get("next_touch") == number else None
    if planned is None:  # touch 1, which no timer planned
        planned = planned_time(ctx, spec, anchor, last_follow_up)
    if planned >= now:
        return number
    latest = number
    if spec.follow_up:
        last_follow_up = planned
    window = None
    for later in ctx.sequence.touches[number:]:
        # Holds only ever postpone, so a touch whose delay alone has not passed is not due: the
        # usual answer, which leaves the quiet-hours arithmetic to a scheduler that really is behind.
        if anchor + experiments.delay_for(ctx.lead.id, later) > now:
            break
        window = window or send_window(ctx)
        due = planned_time(ctx, later, anchor, last_follow_up, window)
        if due > now:
            break  # the touches after it are only planned once it has gone out
        if later.follow_up:
            latest, last_follow_up = later.number, due
    return latest


# The touch's value is the message itself (an answer, a question): nothing to look up.
SELF_VALUE = Asset(kind="self", key="", values={}, urls={})


def find_asset(ctx: RunContext, touch: Touch, language: str) -> Asset | None:
    profile = ctx.business.profile or {}
    used = ctx.history().assets
    industry = ctx.lead.industry
    if touch.asset in ("answer", "question"):
        return SELF_VALUE
    if touch.asset == "resource":
        return resource_asset(profile, industry=industry, language=language, used=used)
    if touch.asset == "content":
        return content_asset(profile, industry=industry, language=language, used=used)
    if touch.asset == "offer":
        return offer_asset(profile, language=language, default_language=ctx.business.default_locale, used=used)
    if touch.asset == "case_study" and ctx.knowledge is not None:
        seen = frozenset(key.split(":", 1)[1] for key in used if key.startswith("case_study:"))
        lead = ctx.lead
        pick = ctx.knowledge.pick_case_study(
            ctx.business.id, profile, lead.first_message, lead.industry, language, seen
        )
        if pick is not None:
            return case_study_asset(pick.id, pick.title, pick.summary, pick.url)
    return None


def touch(state: LeadState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    session, lead, business, now = ctx.session, ctx.lead, ctx.business, ctx.clock.now()
    number = int(state.get("due_touch") or 0)
    anchor = from_iso(state.get("anchor_at")) or lead.created_at
    spec = ctx.sequence.touch(number)
    if spec is None:
        return {"route": "plan"}

    latest = _latest_due(ctx, state, number, anchor, now)
    if latest != number:
        stale = f"touch {number}" if latest == number + 1 else f"touches {number}–{latest - 1}"
        activity.record(
            session,
            lead,
            now,
            "touch_skipped",
            f"{stale} came due while Nudge was down; only the latest, touch {latest}, is sent",
            touch=number,
        )
        number, spec = latest, ctx.sequence.touches[latest - 1]

    update: dict[str, Any] = {"route": "plan"}
    if spec.follow_up:
        tz_name, quiet = send_window(ctx)
        capped = next_after_daily_cap(now, from_iso(state.get("last_follow_up_at")))
        allowed = next_send_time(capped, tz_name, quiet)
        if allowed > now:
            why = "one follow-up a day" if capped > now else "quiet hours"
            local = allowed.astimezone(zone(tz_name)).strftime("%a %H:%M")
            activity.record(session, lead, now, "touch_held", f"{why}: waits until {local} ({tz_name})", touch=number)
            update.update(next_touch=number, next_due_at=to_iso(allowed), route="hold")
            return update

    arm = experiments.assign(lead.id, spec)
    if arm is not None and arm.holdout:
        # The experiment's control group: recorded so the report can compare it with those sent.
        activity.record(session, lead, now, "touch_skipped", experiments.HOLDOUT_DETAIL + arm.experiment, touch=number)
        update["last_touch"] = number
        return update
    if arm is not None:
        # Recorded before anything can still skip the touch, so a lead counts in its arm even when
        # no channel or asset is left for it (as a held-out lead counts in the holdout).
        activity.record(session, lead, now, experiments.ARM_KIND, arm.label, touch=number)

    language = lead.locale or business.default_locale
    asset = find_asset(ctx, spec, language)
    if asset is None:
        activity.record(
            session,
            lead,
            now,
            "touch_skipped",
            f"value rule: no {spec.asset.replace('_', ' ')} to offer this lead",
            touch=number,
        )
        update["last_touch"] = number
        return update

    failed = ctx.history().failed_channels(number)
    ruled_out: dict[str, str] = {}
    while True:
        decision = choose_channel(
            order=experiments.channel_order(arm, spec),
            lead=lead,
            business=business,
            opted_out=opted_out_channels(session, lead.id),
            now=now,
            purpose=spec.purpose,
            language=language,
            exclude=failed,
            unreachable=(lead.extra or {}).get("unreachable", []),
            ruled_out=ruled_out,
        )
        if decision.choice is None:
            activity.record(
                session, lead, now, "touch_skipped", "no channel: " + "; ".join(decision.passed_over), touch=number
            )
            update["last_touch"] = number
            return update
        spoken = say(
            ctx,
            kind=spec.purpose,
            choice=decision.choice,
            language=language,
            touch=number,
            asset=asset if asset.key else None,
            template_purpose=spec.purpose,
            preferred=arm.phrasings if arm is not None else (),
            extra_info={
                "channel_reason": decision.explain(),
                "passed_over": list(decision.passed_over),
                **({"arm": arm.label} if arm is not None else {}),
            },
        )
        if spoken.message is not None:
            break
        if decision.choice.template is None:
            activity.record(
                session, lead, now, "touch_skipped", spoken.reason, touch=number, channel=decision.choice.channel
            )
            update["last_touch"] = number
            return update
        # An approved template that cannot carry this touch's value would be a hollow message:
        # the next channel gets the touch instead.
        ruled_out[decision.choice.channel] = spoken.reason
    activity.record(
        session,
        lead,
        now,
        "touch_sent",
        f"{spec.purpose} on {decision.choice.channel}"
        + (f" (passed over {'; '.join(decision.passed_over)})" if decision.passed_over else "")
        + (f" [experiment arm {arm.label}]" if arm is not None else ""),
        touch=number,
        channel=decision.choice.channel,
    )
    if spec.retarget:
        queue_audience(session, lead, business, "add", spec.purpose, now)
    update["last_touch"] = number
    if spec.follow_up:
        update["last_follow_up_at"] = to_iso(now)
        if state.get("engaged_at"):
            update["engaged_at"] = None  # a click answered by this touch does not pull the next one too
    stage = state.get("stage", stages.NEW)
    if stage not in stages.NO_AUTOMATION and stage != stages.CLOSED:
        update["stage"] = STAGE_AFTER.get(spec.purpose, stages.NURTURING)
    return update
