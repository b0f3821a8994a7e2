"""Summary figures of a simulated (or real) run, read back from the database."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from agent import stages
from agent.attribution import CreditReport, attribute
from agent.attribution.funnel import cold_and_back
from agent.ledger_reader import read_ledgers
from agent.reports import FunnelReport, funnel_from
from agent.sequence import Sequence
from nudge.models import Business, Lead, LeadActivity, Message
from scheduler.dispatcher import sequence_for


@dataclass
class Summary:
    leads: int = 0
    touches: Counter[tuple[int, str]] = field(default_factory=Counter)  # (touch, channel) → sent
    passed_over: Counter[tuple[int, str]] = field(default_factory=Counter)  # (touch, "sms: no consent") → times
    skipped: Counter[str] = field(default_factory=Counter)  # reason → count
    held: int = 0
    replied: int = 0
    escalated: int = 0
    opted_out: int = 0
    converted: int = 0
    stages: Counter[str] = field(default_factory=Counter)
    went_cold: int = 0
    recovered: int = 0
    messages_out: int = 0
    messages_in: int = 0

    @property
    def recovery_rate(self) -> float:
        return self.recovered / self.went_cold if self.went_cold else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "leads": self.leads,
            "touches": [{"touch": t, "channel": c, "sent": n} for (t, c), n in sorted(self.touches.items())],
            "passed_over": [{"touch": t, "reason": r, "times": n} for (t, r), n in sorted(self.passed_over.items())],
            "skipped": dict(self.skipped),
            "held": self.held,
            "replied": self.replied,
            "escalated": self.escalated,
            "opted_out": self.opted_out,
            "converted": self.converted,
            "stages": dict(self.stages),
            "went_cold": self.went_cold,
            "recovered": self.recovered,
            "recovery_rate": round(self.recovery_rate, 4),
            "messages_out": self.messages_out,
            "messages_in": self.messages_in,
        }


def summarise(session: Session) -> Summary:
    summary = Summary()
    leads = list(session.scalars(sa.select(Lead)))
    summary.leads = len(leads)
    summary.stages = Counter(lead.stage for lead in leads)
    summary.escalated = summary.stages.get(stages.ESCALATED, 0)
    summary.opted_out = summary.stages.get(stages.OPTED_OUT, 0)
    summary.converted = int(
        session.scalar(
            sa.select(sa.func.count(sa.distinct(LeadActivity.lead_id))).where(LeadActivity.kind == "conversion")
        )
        or 0
    )
    by_lead: dict[str, list[Message]] = defaultdict(list)
    for message in session.scalars(sa.select(Message).order_by(Message.created_at, Message.id)):
        by_lead[message.lead_id].append(message)
        if message.direction == "out":
            summary.messages_out += 1
            if message.touch is not None and message.author == "agent":
                summary.touches[(message.touch, message.channel)] += 1
                for reason in (message.info or {}).get("passed_over", []):
                    summary.passed_over[(message.touch, str(reason))] += 1
        else:
            summary.messages_in += 1
    for activity in session.scalars(
        sa.select(LeadActivity).where(LeadActivity.kind.in_(("touch_skipped", "touch_held")))
    ):
        if activity.kind == "touch_held":
            summary.held += 1
        else:
            summary.skipped[activity.detail.split(":")[0]] += 1
    for messages in by_lead.values():
        inbound = [m for m in messages if m.direction == "in"]
        first_out = next((m.created_at for m in messages if m.direction == "out"), None)
        if first_out is not None and any(m.created_at > first_out for m in inbound):
            summary.replied += 1
        # Cold: a follow-up touch (3+) went out and the lead had been silent for a day; recovered: they wrote.
        follow_ups = [m.created_at for m in messages if m.direction == "out" and (m.touch or 0) >= 3]
        went_cold, came_back = cold_and_back(follow_ups, [m.created_at for m in inbound])
        summary.went_cold += went_cold
        summary.recovered += came_back
    return summary


@dataclass(frozen=True)
class SequenceReports:
    """The same reports as `nudge report`, over every business of the simulation together."""

    funnel: FunnelReport
    attribution: CreditReport
    sequence: Sequence


def sequence_reports(
    session: Session, business_ids: list[str], model: str, half_life: timedelta = timedelta(days=7)
) -> SequenceReports:
    business = session.get(Business, business_ids[0])
    assert business is not None
    sequence = sequence_for(business)
    ledgers = [ledger for business_id in business_ids for ledger in read_ledgers(session, business_id)]
    return SequenceReports(
        funnel=funnel_from(ledgers, sequence),
        attribution=attribute([ledger.journey() for ledger in ledgers], model, half_life=half_life),
        sequence=sequence,
    )
