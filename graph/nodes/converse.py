"""The lead wrote: the cadence pauses and the agent converses.

One run answers every message drained from the mailbox at once, so a burst of quick messages
gets one answer.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

import sqlalchemy as sa
from langgraph.runtime import Runtime
from sqlalchemy import delete

from agent import activity, stages
from agent.channels.sms import carrier_answers
from agent.composer import MessageKind
from agent.outbound import free_text_choice
from agent.policies import zone
from agent.qualifier import is_auto_reply, is_help, is_opt_in, parse_breakup_answer
from agent.text import analysed
from graph.acts import answer_fact, pause_until, read_act
from graph.cadence import send_window
from graph.context import RunContext
from graph.industry import ensure_industry
from graph.speak import say
from graph.state import LeadState
from graph.timeutil import to_iso
from nudge.models import Message, OptOut, table_of

MAX_CLARIFY = 2
# A refusal or a "not now" is never quoted back as the lead's topic.
NO_QUOTE = {"topic": ""}
_MESSAGES = table_of(Message)


class InboundText(NamedTuple):
    """What answering needs of a message the lead wrote (`body`: as much as the channel carries)."""

    id: str
    channel: str
    body: str


@cache
def _inbound_query() -> sa.Select[str, str, str]:
    # Built once, on first use: a Core read of three columns instead of loading ORM objects (every
    # inbound run reads its messages once). Like the other tenant-owned Core queries, it names
    # the business itself.
    return (
        sa.select(_MESSAGES.c.id, _MESSAGES.c.channel, _MESSAGES.c.body)
        .where(
            _MESSAGES.c.business_id == sa.bindparam("business_id"),
            _MESSAGES.c.id.in_(sa.bindparam("ids", expanding=True)),
        )
        .order_by(_MESSAGES.c.created_at)
    )


def inbound_messages(ctx: RunContext, ids: list[str]) -> list[InboundText]:
    """The lead's messages with these ids, oldest first."""
    if not ids:
        return []
    rows = ctx.session.connection().execute(_inbound_query(), {"business_id": ctx.business.id, "ids": ids})
    return [InboundText(id_, channel, analysed(body, channel)) for id_, channel, body in rows]


def converse(state: LeadState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    update = _converse(state, runtime)
    if not state.get("last_touch", 0) and update.get("due_touch") != 1:
        # absorb leaves the industry of a first message's run to touch 1's next run; a run that
        # answers otherwise (opt-out, HELP, an auto-reply) records it now, as before.
        update = {**ensure_industry(runtime.context, state), **update}
    return update


def _converse(state: LeadState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    session, lead, now = ctx.session, ctx.lead, ctx.clock.now()
    ids = state.get("reply_ids", [])
    messages = inbound_messages(ctx, ids)
    human = [m for m in messages if not is_auto_reply(m.body)]
    for skipped in (m for m in messages if m not in human):
        activity.record(
            session, lead, now, "auto_reply", "an automatic reply is not a human answer", channel=skipped.channel
        )
    if not human:
        return {"route": "plan"}

    text = "\n".join(m.body for m in human)
    default_language = lead.locale or ctx.business.default_locale
    result = ctx.qualify(text, default_language, urgent=not state.get("last_touch", 0))
    lead.locale = result.language  # short replies fall back to the locale we already had
    lead.score = max(lead.score, result.score) if state.get("last_touch", 0) else result.score
    update: dict[str, Any] = {"anchor_at": to_iso(now), "route": "plan", "qualification": result.to_dict()}
    stage = state.get("stage", stages.NEW)
    activity.record(
        session, lead, now, "qualified", f"{result.intent} · score {result.score} · " + "; ".join(result.reasons)
    )

    if result.intent == "opt_out":
        update["route"] = "opt_out"
        return update
    reading = read_act(ctx, text)
    update["act"] = reading.to_dict()
    activity.record(session, lead, now, "act", reading.reason())
    declined = result.intent == "not_interested" or reading.act == "decline"
    hot = result.intent == "hot" or reading.is_hot
    if is_help(text):
        # Carriers require an answer to HELP, even from an opted-out number; it is not a reply to
        # the cadence, so nothing else moves.
        help_choice = free_text_choice(ctx.lead, ctx.business, human[-1].channel)
        if help_choice is not None and not carrier_answers(human[-1].channel, human[-1].body):
            say(ctx, kind="help", choice=help_choice, language=result.language, touch=None)
        activity.record(session, lead, now, "help", "HELP keyword answered", channel=human[-1].channel)
        return {"route": "plan"}
    if stage == stages.OPTED_OUT and not is_opt_in(text):
        return {"route": "plan"}  # nothing automated reaches an opted-out lead

    choice = free_text_choice(ctx.lead, ctx.business, human[-1].channel)
    if choice is None:
        activity.record(session, lead, now, "reply_skipped", "no way to answer on the lead's channel")
        return update

    def reply(kind: MessageKind, extra: dict[str, str] | None = None, touch: int | None = None) -> bool:
        spoken = say(
            ctx,
            kind=kind,
            choice=choice,
            language=result.language,
            touch=touch,
            extra=extra,
            required=tuple(extra or {}),
        )
        if spoken.message is None:
            activity.record(session, lead, now, "reply_skipped", spoken.reason, channel=choice.channel)
        return spoken.message is not None

    if stage == stages.OPTED_OUT:  # and the lead asked to come back
        session.execute(delete(OptOut).where(OptOut.lead_id == lead.id))
        if not carrier_answers(human[-1].channel, human[-1].body):
            reply("optin_confirm")
        update["stage"] = stages.CONVERSING
        return update

    first = state.get("last_touch", 0) == 0
    breakup = ctx.sequence.by_purpose("breakup")
    # An answer to the break-up question ("2", "not now") is read by its own rules below.
    answers_breakup = (
        breakup is not None and state.get("last_touch") == breakup.number and parse_breakup_answer(text) is not None
    )
    if declined and not hot and not answers_breakup:
        # One acknowledgement, then no more pitching: the lead is closed (only the no-pitch
        # re-engagement remains), also when the refusal is their first message.
        reply("not_interested_close", NO_QUOTE)
        activity.record(session, lead, now, "declined", f"acknowledged once, follow-ups stop ({reading.reason()})")
        update["stage"] = stages.CLOSED
        update["paused_until"] = None
        if first:
            update["last_touch"] = 1  # the acknowledgement answered the first message
        return update
    if reading.act == "defer" and not hot and not answers_breakup:
        until = pause_until(ctx, reading)
        reply("breakup_not_now", NO_QUOTE)
        tz = zone(send_window(ctx)[0])
        activity.record(
            session,
            lead,
            now,
            "deferred",
            f"the lead asked to be contacted later: no follow-up before {until.astimezone(tz):%a %d %b %Y %H:%M} "
            f"({tz.key}) — {reading.reason()}",
        )
        update["paused_until"] = to_iso(until)
        update["anchor_at"] = to_iso(until)  # the cadence resumes from the moment they named
        if first:
            update["last_touch"] = 1
        if stage not in (stages.WON, stages.LOST):
            update["stage"] = stages.CONVERSING
        return update

    if state.get("paused_until"):
        update["paused_until"] = None  # the lead is back before the date they named: the pause ends
    if first:
        # The lead's first message: touch 1 answers it; a hot lead then goes to a person.
        update.update(route="touch", due_touch=1, hot=hot)
        return update

    if stage not in (stages.WON, stages.LOST, stages.BOOKED):  # a booked lead is answered, its cadence still waits
        update["stage"] = stages.CONVERSING  # a closed or completed lead who writes is back in play
    if breakup is not None and state.get("last_touch") == breakup.number:
        answer = parse_breakup_answer(text)
        if answer == "close":
            reply("breakup_close")
            update["stage"] = stages.CLOSED
            return update
        if answer == "not_now":
            reply("breakup_not_now")
            update["stage"] = stages.CLOSED
            return update
        if answer == "keep_open":
            reply("breakup_keep_open")
            return update

    if hot:
        if result.intent != "hot":
            activity.record(session, lead, now, "hot", f"escalated on the act: {reading.reason()}")
        update["route"] = "escalate"
        return update

    qualification = ctx.sequence.by_purpose("qualification")
    # A lead with a meeting booked is answered but not qualified again: the meeting does that.
    asked = stage == stages.BOOKED or (qualification is not None and state.get("last_touch", 0) >= qualification.number)
    if result.intent == "question" or reading.act == "question":
        fact = answer_fact(ctx, human[-1].body, reading, result.language)
        if fact:
            activity.record(session, lead, now, "answered", f"from the business profile: {fact[:120]}")
        if not reply("answer", {"fact": fact}):
            update["route"] = "escalate"  # the bot has nothing new to say: a person answers
            return update
        if not asked and qualification is not None:
            # Every answer ends with an open question about the need: that is touch 2's job done.
            update.update(last_touch=qualification.number, stage=stages.QUALIFYING)
    elif result.is_vague and state.get("clarify_turns", 0) < MAX_CLARIFY and asked:
        if reply("clarify"):
            update["clarify_turns"] = state.get("clarify_turns", 0) + 1
    elif not asked and qualification is not None:
        if reply("qualification", touch=qualification.number):
            update["last_touch"] = qualification.number
            update["stage"] = stages.QUALIFYING
    elif stage in (stages.CLOSED, stages.NURTURE_COMPLETE):
        reply("welcome_back")
    else:
        reply("answer", {"fact": answer_fact(ctx, human[-1].body, reading, result.language)})
    return update
