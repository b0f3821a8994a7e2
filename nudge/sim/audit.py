"""An independent policy audit over what was actually sent (it re-checks, it does not trust the graph)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from agent import stages
from agent.composer.similarity import is_near_duplicate, normalise
from agent.policies import DAILY_GAP, QuietHours, lead_timezone, next_send_time, zone
from nudge.models import Business, Lead, LeadActivity, Message, OptOut
from scheduler.dispatcher import sequence_for


@dataclass(frozen=True)
class Violation:
    lead_id: str
    rule: str
    detail: str


def audit(session: Session) -> list[Violation]:
    violations: list[Violation] = []
    businesses = {b.id: b for b in session.scalars(sa.select(Business))}
    outbound: dict[str, list[Message]] = defaultdict(list)
    for message in session.scalars(
        sa.select(Message)
        .where(Message.direction == "out", Message.author == "agent")
        .order_by(Message.created_at, Message.id)
    ):
        outbound[message.lead_id].append(message)
    opt_outs: dict[str, datetime] = {}
    for opt in session.scalars(sa.select(OptOut).where(OptOut.channel == "all")):
        opt_outs[opt.lead_id] = opt.created_at
    stage_stops: dict[str, datetime] = {}
    for act in session.scalars(sa.select(LeadActivity).where(LeadActivity.kind.in_(("escalated",)))):
        stage_stops.setdefault(act.lead_id, act.at)
    for lead in session.scalars(sa.select(Lead)):
        business = businesses[lead.business_id]
        sequence = sequence_for(business)
        sent = outbound.get(lead.id, [])
        tz = lead_timezone(lead.timezone, lead.phone, business.timezone)
        quiet = QuietHours.parse(business.quiet_hours_start, business.quiet_hours_end, business.send_on_weekends)
        follow_ups = []
        for index, message in enumerate(sent):
            for earlier in sent[:index]:
                if normalise(earlier.body) == normalise(message.body):
                    violations.append(Violation(lead.id, "repeat", f"same wording twice: {message.body[:60]!r}"))
                elif is_near_duplicate(earlier.body, message.body):
                    violations.append(Violation(lead.id, "near_repeat", f"{message.body[:60]!r}"))
            spec = sequence.touch(message.touch) if message.touch else None
            if spec is not None and spec.follow_up:
                follow_ups.append(message)
                if next_send_time(message.created_at, tz, quiet) != message.created_at:
                    local = message.created_at.astimezone(zone(tz))
                    violations.append(
                        Violation(lead.id, "quiet_hours", f"touch {message.touch} at {local:%a %H:%M} {tz}")
                    )
            opted = opt_outs.get(lead.id)
            if opted is not None and message.created_at > opted:
                violations.append(Violation(lead.id, "after_opt_out", f"{message.body[:60]!r}"))
            stopped = stage_stops.get(lead.id)
            if (
                stopped is not None
                and message.touch
                and message.created_at > stopped
                and lead.stage == stages.ESCALATED
            ):
                violations.append(Violation(lead.id, "after_escalation", f"touch {message.touch}"))
        for earlier, later in itertools.pairwise(follow_ups):
            if later.created_at - earlier.created_at < DAILY_GAP:
                violations.append(
                    Violation(
                        lead.id, "two_in_a_day", f"touches {earlier.touch} and {later.touch} less than 24 h apart"
                    )
                )
    return violations
