"""Synthetic leads the cadence tests share."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from nudge.sim.engine import SimLead, Simulation
from nudge.sim.personas import Persona

NEW_YORK = ZoneInfo("America/New_York")


def silent_new_yorker(
    sim: Simulation, business_id: str, arrival: datetime, first_line: str = "Hi, I need pricing for two clinics"
) -> SimLead:
    """A web-form lead in New York (a US number) who never answers."""
    persona = Persona("silent", "en", "form", first_line, phone_prefix="+1212", timezone="America/New_York")
    return sim.add_lead(persona, business_id, arrival)
