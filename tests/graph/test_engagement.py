"""A click is a signal the cadence branches on: the lead who opens a touch's link hears from us
sooner (within a day, still one follow-up a day and never at night); one who does not waits out the
touch's full delay."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from nudge.db import transaction
from nudge.models import LeadActivity, Message
from nudge.sim.engine import Simulation
from nudge.sim.setup import create_sample_businesses, simulation_runtime
from scheduler.inputs import record_click
from tests.support.leads import NEW_YORK, silent_new_yorker

LINK = re.compile(r"/r/([A-Za-z0-9_-]+)")


@pytest.mark.parametrize("clicks", [True, False])
def test_a_click_on_touch_four_brings_touch_five_sooner(tmp_path: Path, clicks: bool) -> None:
    with simulation_runtime(tmp_path, seed=8) as (runtime, clock):
        business_id = create_sample_businesses(runtime)[0]
        arrival = datetime(2026, 3, 2, 9, 30, tzinfo=NEW_YORK)  # a Monday; touch 4 is due Thursday
        clock.set(arrival)
        sim = Simulation(runtime, clock, random.Random(8))
        lead = silent_new_yorker(sim, business_id, arrival, "Pricing please")
        sim.run_until(arrival + timedelta(days=3, hours=1))
        with transaction(runtime.sessions) as session:
            touch_four = session.scalars(
                sa.select(Message).where(Message.lead_id == lead.lead_id, Message.touch == 4)
            ).one()
            token = LINK.search(touch_four.body)
            assert token is not None, touch_four.body
        clicked_at = touch_four.created_at + timedelta(hours=2)
        if clicks:
            sim.run_until(clicked_at)
            with transaction(runtime.sessions) as session:
                record_click(session, token.group(1), clock.now())
        sim.run_until(arrival + timedelta(days=10))
        with transaction(runtime.sessions) as session:
            touch_five = session.scalars(
                sa.select(Message).where(Message.lead_id == lead.lead_id, Message.touch == 5)
            ).one()
            engaged = list(session.scalars(sa.select(LeadActivity.detail).where(LeadActivity.kind == "engaged")))
    if clicks:
        assert engaged == [
            "opened one of our links: touch 5 comes Fri 06 Mar 11:30 instead of Mon 09 Mar 10:30 (America/New_York)"
        ]
        assert touch_five.created_at == clicked_at + timedelta(days=1), "a day after the click, in daytime"
    else:
        assert engaged == []
        assert touch_five.created_at == arrival.astimezone(UTC) + timedelta(days=7), "its full delay"
