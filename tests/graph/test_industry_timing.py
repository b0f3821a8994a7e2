"""When the lead's industry is detected: not in the run that sends the instant reply (touch 1
needs none of it), but in the next one; a first message answered otherwise records it at once."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from nudge.clock import VirtualClock
from nudge.db import transaction
from nudge.models import Lead, LeadActivity, Message
from nudge.runtime import Runtime
from nudge.sim.engine import Simulation
from nudge.sim.personas import Persona
from nudge.sim.setup import create_sample_businesses, simulation_runtime

NEW_YORK = ZoneInfo("America/New_York")
ARRIVAL = datetime(2026, 3, 2, 10, 0, tzinfo=NEW_YORK)  # a Monday morning: no quiet hours in the way


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Runtime, VirtualClock, Simulation, str]]:
    with simulation_runtime(tmp_path, seed=5) as (runtime, clock):
        business_id = create_sample_businesses(runtime)[0]
        clock.set(ARRIVAL)
        yield runtime, clock, Simulation(runtime, clock, random.Random(5)), business_id


def _state(runtime: Runtime, lead_id: str) -> tuple[str | None, list[str], list[int | None]]:
    """(the lead's industry, its industry activity, the touches sent so far)."""
    with transaction(runtime.sessions) as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        activity = session.scalars(
            sa.select(LeadActivity.detail).where(LeadActivity.lead_id == lead_id, LeadActivity.kind == "industry")
        ).all()
        touches = session.scalars(
            sa.select(Message.touch).where(Message.lead_id == lead_id, Message.direction == "out")
        ).all()
        return lead.industry, list(activity), list(touches)


def _first_message(world, behaviour: str, text: str, *, after: timedelta) -> str:  # type: ignore[no-untyped-def]
    """A new lead writes `text` on WhatsApp at ARRIVAL; the simulation runs `after` past it."""
    _, _, sim, business_id = world
    lead = sim.add_lead(Persona(behaviour, "en", "whatsapp", text), business_id, ARRIVAL, phone="+12125550101")
    sim.run_until(ARRIVAL + after)
    assert lead.lead_id is not None
    return str(lead.lead_id)


def test_the_instant_reply_run_leaves_the_industry_to_the_next_run(world) -> None:  # type: ignore[no-untyped-def]
    runtime, _, sim, _ = world
    text = "Hi, I own a dental clinic, how much is the yearly plan?"
    lead_id = _first_message(world, "silent", text, after=timedelta(seconds=30))
    industry, activity, touches = _state(runtime, lead_id)
    assert touches == [1], "the instant reply went out"
    assert industry is None and activity == [], "without waiting for the industry"
    sim.run_until(ARRIVAL + timedelta(hours=1))  # touch 2 is due 3 minutes after the first message
    industry, activity, touches = _state(runtime, lead_id)
    assert touches[:2] == [1, 2]
    assert industry == "dental" and len(activity) == 1


def test_a_first_message_that_opts_out_records_the_industry_in_its_run(world) -> None:  # type: ignore[no-untyped-def]
    runtime = world[0]
    text = "STOP. I own a dental clinic and do not want messages"
    industry, activity, touches = _state(runtime, _first_message(world, "opts_out", text, after=timedelta(hours=1)))
    assert 1 not in touches, "an opted-out lead gets no touch 1"
    assert industry == "dental" and len(activity) == 1
