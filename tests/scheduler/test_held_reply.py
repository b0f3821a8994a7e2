"""A reply held for its burst window takes the follow-up due meanwhile with it: the lead who has
just written is answered, never sent the next follow-up over their message."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from nudge.db import transaction
from nudge.models import Business, Lead, Message
from nudge.runtime import Runtime
from nudge.sim.engine import Simulation
from nudge.sim.setup import create_sample_businesses, simulation_runtime
from scheduler.inputs import receive_message
from scheduler.mailbox import BurstHold
from tests.support.leads import NEW_YORK, silent_new_yorker


def test_a_follow_up_due_while_a_reply_is_held_waits_for_the_reply(tmp_path: Path) -> None:
    with simulation_runtime(tmp_path, seed=5) as (runtime, clock):
        business_id = create_sample_businesses(runtime)[0]
        sim = Simulation(runtime, clock, random.Random(5))
        arrival = datetime(2026, 3, 2, 9, 30, tzinfo=NEW_YORK)  # a Monday morning in New York
        clock.set(arrival)
        lead = silent_new_yorker(sim, business_id, arrival)
        sim.run_until(arrival + timedelta(hours=1))
        assert lead.lead_id is not None
        with transaction(runtime.sessions) as session:
            row = session.get(Lead, lead.lead_id)
            assert row is not None and row.next_touch == 3 and row.next_due_at is not None
            touch_three_due = row.next_due_at

        clock.set(touch_three_due - timedelta(seconds=1))  # the lead writes a second before touch 3
        with transaction(runtime.sessions) as session:
            business = session.get(Business, business_id)
            assert business is not None
            receive_message(
                session,
                business,
                channel="whatsapp",
                phone=lead.phone,
                body="Sorry for the delay, what does the yearly plan include?",
                provider_id="SM" + "1" * 32,
                now=clock.now(),
                hold=BurstHold(quiet=timedelta(seconds=5), max_hold=timedelta(seconds=20)),
            )
        clock.set(touch_three_due)
        runtime.dispatcher.run_due()
        assert _touches_after(runtime, lead.lead_id, touch_three_due - timedelta(seconds=1)) == [], (
            "nothing goes out while the lead's message is held"
        )

        clock.set(touch_three_due + timedelta(seconds=5))
        runtime.dispatcher.run_due()
        answered = _touches_after(runtime, lead.lead_id, touch_three_due - timedelta(seconds=1))
        assert answered and 3 not in answered, f"the reply is answered, touch 3 is not sent over it: {answered}"
        with transaction(runtime.sessions) as session:
            row = session.get(Lead, lead.lead_id)
            assert row is not None and row.stage == "conversing"


def _touches_after(runtime: Runtime, lead_id: str, moment: datetime) -> list[int | None]:
    with transaction(runtime.sessions) as session:
        return list(
            session.scalars(
                sa.select(Message.touch)
                .where(Message.lead_id == lead_id, Message.direction == "out", Message.created_at >= moment)
                .order_by(Message.created_at)
            )
        )
