"""`nudge demo`: sample leads in en/es/pt through the whole sequence, printed as conversations."""

from __future__ import annotations

import random
import tempfile
from datetime import timedelta
from pathlib import Path

from nudge.cli.common import console
from nudge.cli.render import print_composers, print_conversation, print_summary
from nudge.db import transaction
from nudge.settings import Settings
from nudge.sim.audit import audit
from nudge.sim.engine import Simulation
from nudge.sim.personas import Persona, Reaction
from nudge.sim.report import summarise
from nudge.sim.setup import create_sample_businesses, simulation_runtime
from nudge.sim.timeline import timelines

DEMO_LEADS = [
    Persona(
        "silent",
        "en",
        "form",
        "Hi, I'd like pricing for our three dental clinics",
        display_name="Dana Reyes",
        phone_prefix="+1212",
        timezone="America/New_York",
    ),
    Persona(
        "asks_question",
        "es",
        "whatsapp",
        "Hola, quisiera información sobre los planes",
        [Reaction(1, "reply", "question", timedelta(minutes=2))],
        display_name="Lucía Gómez",
        phone_prefix="+3460",
        phone_length=12,
        timezone="Europe/Madrid",
    ),
    Persona(
        "hot_buyer",
        "en",
        "whatsapp",
        "I want to book a demo today, budget approved",
        display_name="Marcus Lee",
        phone_prefix="+1415",
        timezone="America/Los_Angeles",
    ),
    Persona(
        "opts_out",
        "pt",
        "whatsapp",
        "Oi, quanto custa o serviço?",
        [Reaction(3, "reply", "stop", timedelta(hours=3))],
        display_name="João Silva",
        phone_prefix="+55119",
        phone_length=14,
        timezone="America/Sao_Paulo",
    ),
    Persona(
        "converts",
        "en",
        "form",
        "Looking for help getting more patients",
        [Reaction(5, "click", delay=timedelta(hours=1)), Reaction(5, "convert", delay=timedelta(days=1))],
        display_name="Priya Shah",
        phone_prefix="+44207",
        phone_length=13,
        timezone="Europe/London",
    ),
    Persona(
        "breakup_close",
        "pt",
        "form",
        "Preciso de um orçamento para minha clínica",
        [Reaction(6, "reply", "close", timedelta(minutes=30))],
        display_name="Ana Costa",
        phone_prefix="+35191",
        phone_length=13,
        timezone="Europe/Lisbon",
    ),
]


def demo() -> None:
    settings = Settings()
    llm = f"{settings.llm_model} at {settings.openai_base_url or 'api.openai.com'}" if settings.llm_configured else None
    writer = (
        f"messages by the LLM ({llm}), phrasebook when a draft fails" if llm else "phrasebook templates (no LLM set)"
    )
    console.print(
        "[bold]Nudge demo[/]: sample leads through the 7-touch sequence on a virtual clock "
        f"(sandbox channels; {writer}; {'only model calls leave' if llm else 'nothing leaves'} this machine)\n"
    )
    with (
        tempfile.TemporaryDirectory(prefix="nudge-demo-") as tmp,
        simulation_runtime(Path(tmp), seed=1) as (runtime, clock),
    ):
        sim = Simulation(runtime, clock, random.Random(1))
        business_ids = create_sample_businesses(runtime)
        start = clock.now()
        for index, persona in enumerate(DEMO_LEADS):
            sim.add_lead(persona, business_ids[index % len(business_ids)], start + timedelta(minutes=17 * index))
        sim.run_until(start + timedelta(days=70))
        with transaction(runtime.sessions) as session:
            lines = timelines(session, start)
            summary, violations = summarise(session), audit(session)
    for timeline in lines:
        print_conversation(console, timeline, start)
        console.print()
    print_summary(console, summary, violations)
    print_composers(console, lines, llm)
