"""A touch experiment end to end: declared with PUT /v1/sequence, run by the real graph on a
virtual clock, reported by GET /v1/reports/funnel with lift and a 95% interval."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from agent.experiments import assign
from api.app import create_app
from nudge.db import transaction
from nudge.models import Business, Lead, LeadActivity, Message
from nudge.sim.engine import Simulation
from nudge.sim.personas import Persona, Reaction
from nudge.sim.setup import create_sample_businesses, simulation_runtime
from nudge.tenants import issue_key
from scheduler.dispatcher import sequence_for
from tests.support.server_thread import ServerThread

SEQUENCE = """name: reminder-test
touches:
  - number: 1
    purpose: instant_reply
    delay: 0s
    channels: [whatsapp, sms, email]
    asset: answer
    follow_up: false
  - number: 2
    purpose: soft_reminder
    delay: 1d
    channels: [email, whatsapp]
    asset: resource
    experiment: reminder
    holdout: 0.3
    variants:
      - {name: by_email, channels: [email, whatsapp], phrasings: [plain_no_rush]}
      - {name: by_whatsapp, channels: [whatsapp, email], weight: 1, delay: 2d, phrasings: [plain_save_time]}
"""


def test_channel_timing_and_wording_variants_and_a_holdout_are_assigned_stably_and_reported_with_lift(
    tmp_path: Path,
) -> None:
    with simulation_runtime(tmp_path, seed=11) as (runtime, clock):
        business_id = create_sample_businesses(runtime)[0]
        with transaction(runtime.sessions) as session:
            _, key = issue_key(session, "business", clock.now(), business_id=business_id)
        with ServerThread(create_app(runtime=runtime, run_workers=False), name="nudge-api") as server:
            client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=10)
            put = client.put("/v1/sequence", content=SEQUENCE, headers={"Content-Type": "application/yaml"})
            assert put.status_code == 200, put.text
            assert put.json()["touches"][1]["holdout"] == 0.3

            # Half the leads buy an hour after the reminder reaches them, half never answer: the
            # reminder causes sales, so held-out leads (who never get it) cannot buy.
            sim = Simulation(runtime, clock, random.Random(11))
            start = clock.now()
            for index in range(40):
                persona = Persona("buyer" if index % 2 else "silent", "en", "form", "Hi, pricing please?")
                if index % 2:
                    persona.reactions.append(Reaction(2, "convert", delay=timedelta(hours=1)))
                sim.add_lead(persona, business_id, start + timedelta(minutes=index))
            sim.run_until(start + timedelta(days=4))
            funnel = client.get("/v1/reports/funnel").json()

        with transaction(runtime.sessions, business_id=business_id) as session:
            business = session.get(Business, business_id)
            assert business is not None
            touch2 = sequence_for(business).touch(2)
            assert touch2 is not None
            sent = {
                m.lead_id: m
                for m in session.scalars(sa.select(Message).where(Message.touch == 2, Message.direction == "out"))
            }
            arrivals = dict(session.execute(sa.select(Lead.id, Lead.created_at)).tuples().all())
            held = set(
                session.scalars(
                    sa.select(LeadActivity.lead_id).where(
                        LeadActivity.touch == 2, LeadActivity.detail.startswith("holdout:")
                    )
                )
            )
    lead_ids = [s.lead_id for s in sim.leads if s.lead_id is not None]
    assert len(set(lead_ids)) == 40
    arms = {lead_id: assign(lead_id, touch2) for lead_id in lead_ids}
    # Stable: what was recorded at send time is what the hash gives now; holdouts got no touch 2.
    assert held == {lead for lead, arm in arms.items() if arm is not None and arm.holdout}
    assert not held & set(sent)
    worded: set[str] = set()
    for lead_id, message in sent.items():
        arm = arms[lead_id]
        assert arm is not None and message.info["arm"] == f"reminder:{arm.name}"
        assert message.channel == (arm.channels or ("",))[0], (arm, message.channel)
        # Wording: a message the phrasebook wrote reads the arm's phrasing, in the lead's language
        # (an approved WhatsApp template outside the 24-hour window has fixed wording).
        if message.template_sid is None:
            assert message.info["variant"] == f"en.soft_reminder.{arm.phrasings[0]}", (arm.name, message.info)
            worded.add(arm.name)
        # Timing: the by_whatsapp arm waits two days instead of one (quiet hours may add a night).
        waited = message.created_at - arrivals[lead_id]
        due = arm.delay or timedelta(days=1)
        assert due <= waited <= due + timedelta(hours=16), (arm.name, waited)
    assert "by_email" in worded, "the email arm's wording was checked on real sends"
    counts = Counter(arm.name for arm in arms.values() if arm is not None)
    assert set(counts) == {"holdout", "by_email", "by_whatsapp"}, counts

    [experiment] = funnel["experiments"]
    assert (experiment["experiment"], experiment["touch"], experiment["control"]) == ("reminder", 2, "holdout")
    reported = {a["arm"]: a for a in experiment["arms"]}
    assert [a["arm"] for a in experiment["arms"]] == ["holdout", "by_email", "by_whatsapp"]
    for name, arm in reported.items():
        assert arm["leads"] == counts[name]
        buyers = sum(
            1 for lead, a in arms.items() if a is not None and a.name == name and lead in sent and _buyer(sim, lead)
        )
        assert arm["converted"] == (0 if name == "holdout" else buyers)
    assert reported["holdout"]["lift"] is None
    for name in ("by_email", "by_whatsapp"):
        arm = reported[name]
        assert arm["lift"] == round(arm["rate"], 6)  # the holdout converts nobody
        assert arm["low"] <= arm["lift"] <= arm["high"] and arm["high"] <= 1
    touch2_row = next(r for r in funnel["touches"] if r["touch"] == 2)
    assert touch2_row["sent"] == len(sent)


def _buyer(sim: Simulation, lead_id: str) -> bool:
    return next(s for s in sim.leads if s.lead_id == lead_id).persona.name == "buyer"
