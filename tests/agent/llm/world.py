"""A simulated Nudge whose composer and qualifier talk to a local OpenAI-compatible server."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from nudge.clock import VirtualClock
from nudge.db import transaction
from nudge.models import LeadActivity, LlmUsage, Message
from nudge.runtime import Runtime
from nudge.sim.engine import SimLead, Simulation
from nudge.sim.personas import Persona
from nudge.sim.setup import DEFAULT_START, create_sample_businesses, simulation_runtime
from tests.support.openai_stub import Behaviour, OpenAIStub

# A WhatsApp lead: touches 1-2 are free text inside the window, later ones go by e-mail.
WHATSAPP_LEAD = Persona(
    "silent", "en", "whatsapp", "Hi, I run two dental clinics and need more patients", timezone="America/New_York"
)


@dataclass
class LLMWorld:
    runtime: Runtime
    clock: VirtualClock
    sim: Simulation
    business_id: str
    stub: OpenAIStub

    def lead(self, persona: Persona = WHATSAPP_LEAD, days: float = 0) -> SimLead:
        lead = self.sim.add_lead(persona, self.business_id, self.clock.now())
        self.sim.run_until(self.clock.now() + timedelta(days=days, seconds=1))
        assert lead.lead_id is not None
        return lead

    def outbound(self, lead: SimLead) -> list[Message]:
        with transaction(self.runtime.sessions) as session:
            return list(
                session.scalars(
                    sa.select(Message)
                    .where(Message.lead_id == lead.lead_id, Message.direction == "out")
                    .order_by(Message.created_at, Message.id)
                )
            )

    def usage(self, lead: SimLead) -> list[LlmUsage]:
        with transaction(self.runtime.sessions) as session:
            return list(session.scalars(sa.select(LlmUsage).where(LlmUsage.lead_id == lead.lead_id)))

    def decisions(self, lead: SimLead, kind: str) -> list[str]:
        with transaction(self.runtime.sessions) as session:
            return list(
                session.scalars(
                    sa.select(LeadActivity.detail).where(
                        LeadActivity.lead_id == lead.lead_id, LeadActivity.kind == kind
                    )
                )
            )

    def metric(self, name: str, **labels: str) -> float:
        return float(self.runtime.metrics.registry.get_sample_value(name, labels) or 0.0)


@contextmanager
def llm_world(tmp_path: Path, behaviour: Behaviour, **settings: Any) -> Iterator[LLMWorld]:
    with OpenAIStub(behaviour) as stub:
        extra = stub.settings(**settings)
        with simulation_runtime(tmp_path, seed=5, start=DEFAULT_START, settings_extra=extra) as (runtime, clock):
            business_id = create_sample_businesses(runtime)[0]
            yield LLMWorld(runtime, clock, Simulation(runtime, clock, random.Random(5)), business_id, stub)
