"""The simulator's policy audit finds each kind of violation it claims to check: a clean audit of
the real system means something only if a broken sender would not pass it."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from agent import activity
from agent.suppression import suppress
from nudge.db import transaction
from nudge.ids import new_id
from nudge.models import Lead, Message
from nudge.sim.audit import audit
from nudge.sim.engine import Simulation
from nudge.sim.setup import create_sample_businesses, simulation_runtime
from tests.support.leads import NEW_YORK, silent_new_yorker


def _sent(
    lead: Lead,
    at: datetime,
    body: str,
    *,
    touch: int | None,
    channel: str = "email",
    asset: bool = True,
    sent_at: datetime | None = None,
) -> dict[str, Any]:
    """A message as a broken sender would have sent it (queued at `at`, sent then or at `sent_at`)."""
    return {
        "id": new_id("msg"),
        "business_id": lead.business_id,
        "lead_id": lead.id,
        "direction": "out",
        "channel": channel,
        "touch": touch,
        "author": "agent",
        "composer": "template",
        "body": body,
        "status": "sent",
        "status_history": [],
        "info": {"asset": "resources:x"} if asset else {},
        "created_at": at,
        "sent_at": sent_at or at,
    }


def test_the_audit_reports_every_rule_a_broken_sender_breaks(tmp_path: Path) -> None:
    with simulation_runtime(tmp_path, seed=4) as (runtime, clock):
        business_id = create_sample_businesses(runtime)[0]
        arrival = datetime(2026, 3, 2, 9, 30, tzinfo=NEW_YORK)  # a Monday
        clock.set(arrival)
        sim = Simulation(runtime, clock, random.Random(4))
        simulated = silent_new_yorker(sim, business_id, arrival, "Pricing please")
        sim.run_until(arrival + timedelta(hours=30))  # touches 1-3, by the rules
        with transaction(runtime.sessions) as session:
            assert audit(session) == [], "the real system breaks nothing"
            lead = session.get(Lead, simulated.lead_id)
            assert lead is not None
            touch_three = session.scalars(sa.select(Message).where(Message.touch == 3)).one()
            day = arrival + timedelta(days=3)  # a Thursday, 09:30 in New York
            rows = [
                _sent(lead, day.replace(hour=11), touch_three.body, touch=None),  # the same words again
                _sent(lead, day.replace(hour=11, minute=30), "A fresh note about your clinics", touch=4),  # same day
                _sent(lead, day.replace(hour=3), "Late night offer for you, Silent", touch=5, asset=False),  # 03:00
            ]
            suppress(session, lead, "sms", "the lead asked to stop texts", day.replace(hour=12))
            rows += [
                _sent(lead, day.replace(hour=13), "Texting you anyway about pricing", touch=None, channel="sms"),
                # Queued before the opt-out, sent after it (a retry nobody withdrew).
                _sent(
                    lead,
                    day.replace(hour=11, minute=45),
                    "A retry",
                    touch=None,
                    channel="sms",
                    sent_at=day.replace(hour=12, minute=45),
                ),
            ]
            activity.record_stage(session, lead, day.replace(hour=14), "nurturing", "won")
            rows += [
                _sent(lead, day.replace(hour=15) + timedelta(days=2), "Still thinking it over?", touch=6),
                # Queued before the sale, sent after it.
                _sent(
                    lead,
                    day.replace(hour=13, minute=50) - timedelta(days=1),
                    "Touch seven",
                    touch=7,
                    asset=True,
                    sent_at=day.replace(hour=14, minute=45),
                ),
            ]
            session.execute(sa.insert(Message), rows)
        with transaction(runtime.sessions) as session:
            found = Counter(violation.rule for violation in audit(session))
    assert found == {
        "repeat": 1,
        "two_in_a_day": found["two_in_a_day"],  # how many pairs depends on the order; at least one
        "quiet_hours": 1,
        "no_value": 1,
        "after_opt_out": 2,
        "while_won": 2,
    }, found
    assert found["two_in_a_day"] >= 1
