"""The 7-touch cadence on a virtual clock: the real graph, mailbox, policies and sandbox channels."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from agent.sequence import default_sequence
from nudge.clock import VirtualClock
from nudge.db import transaction
from nudge.models import Lead, LeadActivity, Message
from nudge.runtime import Runtime
from nudge.sim.audit import audit
from nudge.sim.engine import Simulation
from nudge.sim.personas import Persona, Reaction
from nudge.sim.report import summarise
from nudge.sim.setup import DEFAULT_START, create_sample_businesses, populate, simulation_runtime

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Runtime, VirtualClock, Simulation, str]]:
    with simulation_runtime(tmp_path, seed=3) as (runtime, clock):
        business_id = create_sample_businesses(runtime)[0]
        yield runtime, clock, Simulation(runtime, clock, random.Random(3)), business_id


def _outbound(runtime: Runtime, lead_id: str) -> list[Message]:
    with transaction(runtime.sessions) as session:
        return list(
            session.scalars(
                sa.select(Message)
                .where(Message.lead_id == lead_id, Message.direction == "out")
                .order_by(Message.created_at)
            )
        )


def _lead(runtime: Runtime, lead_id: str) -> Lead:
    with transaction(runtime.sessions) as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        return lead


def test_a_silent_lead_gets_the_seven_touches_at_their_offsets_and_nothing_more(world) -> None:  # type: ignore[no-untyped-def]
    runtime, clock, sim, business_id = world
    # A web-form lead in New York arriving on a Monday at 09:30 local time.
    arrival = datetime(2026, 3, 2, 9, 30, tzinfo=NEW_YORK)
    clock.set(arrival)
    persona = Persona(
        "silent", "en", "form", "Hi, I need pricing for two clinics", phone_prefix="+1212", timezone="America/New_York"
    )
    lead = sim.add_lead(persona, business_id, arrival)
    sim.run_until(arrival + timedelta(days=90))
    assert lead.lead_id is not None
    sent = [m for m in _outbound(runtime, lead.lead_id) if m.touch is not None]
    assert [m.touch for m in sent] == [1, 2, 3, 4, 5, 6, 7], [(m.touch, m.created_at) for m in sent]
    offsets = {touch.number: touch.delay for touch in default_sequence().touches}
    for message in sent:
        expected = arrival + offsets[message.touch or 0]
        local = message.created_at.astimezone(NEW_YORK)
        assert 9 <= local.hour < 20, f"touch {message.touch} sent at {local:%H:%M} local"
        # Each touch goes at its offset, or at the next morning when the offset falls in quiet hours.
        assert expected <= message.created_at <= expected + timedelta(hours=16), (message.touch, local)
    assert sent[0].created_at == arrival, "touch 1 goes out at once"
    assert _lead(runtime, lead.lead_id).stage == "nurture_complete"
    assert _lead(runtime, lead.lead_id).next_touch is None


def test_a_touch_due_at_night_waits_for_the_leads_morning(world) -> None:  # type: ignore[no-untyped-def]
    runtime, clock, sim, business_id = world
    # Arrives 22:00 in São Paulo: touches 1-2 answer at once (the lead is writing); touch 3 is due
    # at 22:00 the next day, which is quiet time there, so it waits until 09:00.
    arrival = datetime(2026, 3, 3, 22, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
    clock.set(arrival)
    persona = Persona(
        "silent",
        "pt",
        "whatsapp",
        "Oi, quanto custa?",
        phone_prefix="+55119",
        phone_length=14,
        timezone="America/Sao_Paulo",
    )
    lead = sim.add_lead(persona, business_id, arrival)
    sim.run_until(arrival + timedelta(days=2))
    assert lead.lead_id is not None
    touches = {
        m.touch: m.created_at.astimezone(ZoneInfo("America/Sao_Paulo")) for m in _outbound(runtime, lead.lead_id)
    }
    assert touches[1].hour == 22 and touches[2].hour == 22
    assert (touches[3].day, touches[3].hour, touches[3].minute) == (5, 9, 0)


def test_a_reply_after_touch_three_pauses_the_cadence_while_the_lead_talks(world) -> None:  # type: ignore[no-untyped-def]
    runtime, clock, sim, business_id = world
    arrival = DEFAULT_START
    persona = Persona(
        "replies", "en", "form", "Looking for more patients", phone_prefix="+1212", timezone="America/New_York"
    )
    lead = sim.add_lead(persona, business_id, arrival)
    sim.run_until(arrival + timedelta(days=1, hours=12))  # touch 3 is out by now
    assert lead.lead_id is not None
    assert max(m.touch or 0 for m in _outbound(runtime, lead.lead_id)) == 3
    # The lead keeps a conversation going every day for five days.
    for day in range(5):
        sim.lead_says(
            lead,
            [
                "How much is it per month?",
                "Do you have a free trial?",
                "What results do clinics get?",
                "Can you send me a case?",
                "ok, and how long does setup take?",
            ][day],
        )
        sim.run_until(clock.now() + timedelta(days=1))
        assert not [m for m in _outbound(runtime, lead.lead_id) if (m.touch or 0) >= 4], f"touch 4 on day {day}"
    stage = _lead(runtime, lead.lead_id).stage
    assert stage == "conversing"
    last_reply = clock.now() - timedelta(days=1)
    # Silence: touch 4 comes 3 days after the lead's last message (plus quiet hours at most).
    sim.run_until(clock.now() + timedelta(days=4))
    touch4 = [m for m in _outbound(runtime, lead.lead_id) if m.touch == 4]
    assert len(touch4) == 1
    assert last_reply + timedelta(days=3) <= touch4[0].created_at <= last_reply + timedelta(days=3, hours=16)


def test_opt_out_stops_everything_and_is_confirmed_once(world) -> None:  # type: ignore[no-untyped-def]
    runtime, _clock, sim, business_id = world
    persona = Persona(
        "stop",
        "es",
        "whatsapp",
        "Hola, info por favor",
        [Reaction(2, "reply", "stop", timedelta(minutes=5))],
        phone_prefix="+3460",
        timezone="Europe/Madrid",
    )
    lead = sim.add_lead(persona, business_id, DEFAULT_START)
    sim.run_until(DEFAULT_START + timedelta(days=70))
    assert lead.lead_id is not None
    messages = _outbound(runtime, lead.lead_id)
    assert [m.touch for m in messages] == [1, 2, None]
    assert "START" in messages[-1].body
    assert _lead(runtime, lead.lead_id).stage == "opted_out"


def test_breakup_answer_two_closes_the_file_and_leaves_only_re_engagement(world) -> None:  # type: ignore[no-untyped-def]
    runtime, _clock, sim, business_id = world
    persona = Persona(
        "close",
        "pt",
        "form",
        "Preciso de um orçamento",
        [Reaction(6, "reply", "close", timedelta(minutes=30))],
        phone_prefix="+35191",
        phone_length=13,
        timezone="Europe/Lisbon",
    )
    lead = sim.add_lead(persona, business_id, DEFAULT_START)
    sim.run_until(DEFAULT_START + timedelta(days=90))
    assert lead.lead_id is not None
    touches = [m.touch for m in _outbound(runtime, lead.lead_id)]
    assert touches[-2:] == [None, 7], touches  # the close confirmation, then only the no-pitch touch 7
    with transaction(runtime.sessions) as session:
        stages = [
            a.detail
            for a in session.scalars(
                sa.select(LeadActivity).where(LeadActivity.lead_id == lead.lead_id, LeadActivity.kind == "stage")
            )
        ]
    assert any("closed" in s for s in stages)


def test_downtime_sends_only_the_latest_due_touch(world) -> None:  # type: ignore[no-untyped-def]
    runtime, clock, sim, business_id = world
    persona = Persona("silent", "en", "form", "Need help with ads", phone_prefix="+1212", timezone="America/New_York")
    lead = sim.add_lead(persona, business_id, DEFAULT_START)
    sim.run_until(DEFAULT_START + timedelta(hours=2))  # touches 1 and 2 are out
    # Everything is down for 10 days: touches 3, 4 and 5 (day 1, 3, 7) all came due meanwhile.
    clock.set(DEFAULT_START + timedelta(days=10))
    sim.run_until(DEFAULT_START + timedelta(days=12))
    assert lead.lead_id is not None
    after = [m for m in _outbound(runtime, lead.lead_id) if (m.touch or 0) >= 3]
    assert [m.touch for m in after] == [5], "one touch, the latest due; never a burst"
    with transaction(runtime.sessions) as session:
        skipped = list(
            session.scalars(
                sa.select(LeadActivity.detail).where(
                    LeadActivity.lead_id == lead.lead_id, LeadActivity.kind == "touch_skipped"
                )
            )
        )
    assert any("while Nudge was down" in s for s in skipped)


@pytest.mark.slow
def test_a_thousand_simulated_leads_over_seventy_days_break_no_policy(tmp_path: Path) -> None:
    """The issue's acceptance run: 1,000 varied leads, 70 virtual days, a clean policy audit.
    (Its duration is a benchmark figure, printed here and by `nudge simulate`, not asserted.)"""
    with simulation_runtime(tmp_path, seed=11) as (runtime, clock):
        sim = Simulation(runtime, clock, random.Random(11))
        populate(sim, create_sample_businesses(runtime), 1000, 5)
        started = time.perf_counter()
        sim.run_until(clock.now() + timedelta(days=70))
        print(f"\n1,000 leads x 70 days simulated in {time.perf_counter() - started:.1f} s")
        with transaction(runtime.sessions) as session:
            summary = summarise(session)
            assert audit(session) == []
        assert summary.leads == 1000
        assert {touch for touch, _ in summary.touches} == {1, 2, 3, 4, 5, 6, 7}
        assert summary.opted_out > 0 and summary.escalated > 0 and summary.converted > 0 and summary.replied > 0
