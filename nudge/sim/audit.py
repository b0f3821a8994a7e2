"""An independent policy audit over what was actually sent (it re-checks, it does not trust the graph)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from agent import activity, stages
from agent.composer.similarity import is_near_duplicate, normalise
from agent.handoff import business_hours
from agent.policies import DAILY_GAP, lead_timezone, next_send_time, zone
from nudge.models import Business, Lead, LeadActivity, Message, OptOut
from scheduler.dispatcher import sequence_for


@dataclass(frozen=True)
class Violation:
    lead_id: str
    rule: str
    detail: str


# Assets a touch must carry (an answer or a question is its own value).
_CARRIED_ASSETS = frozenset({"resource", "case_study", "offer", "content"})


def _stages_over_time(session: Session) -> dict[str, list[tuple[datetime, str]]]:
    """Each lead's stage changes in order, from the "a → b" decisions the runs recorded."""
    changes: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for lead_id, at, detail in session.execute(
        sa.select(LeadActivity.lead_id, LeadActivity.at, LeadActivity.detail)
        .where(LeadActivity.kind == activity.STAGE)
        .order_by(LeadActivity.at, LeadActivity.id)
    ):
        stage = activity.entered_stage(detail)
        if stage is not None:
            changes[lead_id].append((at, stage))
    return changes


def _stage_before(changes: list[tuple[datetime, str]], moment: datetime) -> str:
    """The stage a lead was in when a run that began at `moment` started (changes it made itself
    carry the same time, so they do not count)."""
    stage = stages.NEW
    for at, new in changes:
        if at >= moment:
            break
        stage = new
    return stage


def audit(session: Session) -> list[Violation]:
    violations: list[Violation] = []
    businesses = {b.id: b for b in session.scalars(sa.select(Business))}
    outbound: dict[str, list[Message]] = defaultdict(list)
    for message in session.scalars(
        sa.select(Message)
        # What reached the lead: a message withdrawn or refused before the provider took it did not.
        .where(Message.direction == "out", Message.author == "agent", Message.sent_at.is_not(None))
        .order_by(Message.created_at, Message.id)
    ):
        outbound[message.lead_id].append(message)
    opt_outs: dict[tuple[str, str], datetime] = {}
    for opt in session.scalars(sa.select(OptOut)):
        opt_outs[(opt.lead_id, opt.channel)] = opt.created_at
    stage_changes = _stages_over_time(session)
    for lead in session.scalars(sa.select(Lead)):
        business = businesses[lead.business_id]
        sequence = sequence_for(business)
        sent = outbound.get(lead.id, [])
        tz = lead_timezone(lead.timezone, lead.phone, business.timezone)
        quiet = business_hours(business)
        follow_ups = []
        for index, message in enumerate(sent):
            # When it reached the lead: a retry or a deferred send goes out after it was queued.
            at = message.sent_at or message.created_at
            for earlier in sent[:index]:
                if normalise(earlier.body) == normalise(message.body):
                    violations.append(Violation(lead.id, "repeat", f"same wording twice: {message.body[:60]!r}"))
                elif is_near_duplicate(earlier.body, message.body):
                    violations.append(Violation(lead.id, "near_repeat", f"{message.body[:60]!r}"))
            spec = sequence.touch(message.touch) if message.touch else None
            if spec is not None and spec.follow_up:
                follow_ups.append(at)
                if next_send_time(at, tz, quiet) != at:
                    local = at.astimezone(zone(tz))
                    violations.append(
                        Violation(lead.id, "quiet_hours", f"touch {message.touch} at {local:%a %H:%M} {tz}")
                    )
            if spec is not None and spec.asset in _CARRIED_ASSETS and not (message.info or {}).get("asset"):
                violations.append(Violation(lead.id, "no_value", f"touch {message.touch} without its {spec.asset}"))
            confirms_opt_out = (message.info or {}).get("kind") == "optout_confirm"
            for scope in ("all", message.channel):
                opted = opt_outs.get((lead.id, scope))
                if opted is not None and at > opted and not confirms_opt_out:
                    violations.append(
                        Violation(lead.id, "after_opt_out", f"{message.channel} ({scope}): {message.body[:60]!r}")
                    )
            if message.touch:
                changes = stage_changes.get(lead.id, [])
                # Queued while the lead was out of automation, or sent after it left it.
                stopped = [_stage_before(changes, message.created_at)] + [
                    stage for when, stage in changes if message.created_at < when < at
                ]
                for stage in stopped:
                    if stage in stages.NO_AUTOMATION:
                        violations.append(
                            Violation(lead.id, f"while_{stage}", f"touch {message.touch} to a lead {stage}")
                        )
        for earlier_at, later_at in itertools.pairwise(sorted(follow_ups)):
            if later_at - earlier_at < DAILY_GAP:
                violations.append(Violation(lead.id, "two_in_a_day", f"two follow-ups {later_at - earlier_at} apart"))
    return violations
