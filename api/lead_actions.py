"""What a business does to one lead — an outside signal (won, lost...), erasure — for the API's
/v1/leads routes and the console's lead page alike."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from agent.audiences.jobs import queue_audience
from nudge.db import after_commit
from nudge.ids import new_id
from nudge.models import Business, Lead
from nudge.privacy import erase_lead
from nudge.runtime import Runtime
from scheduler import mailbox
from scheduler.inputs import record_signal


class LeadBusy(Exception):
    """The lead is being processed right now; retry in a moment."""


def signal(session: Session, runtime: Runtime, lead: Lead, payload: dict[str, Any], external_id: str | None) -> bool:
    """Record an outside signal; False when the same `external_id` was already received."""
    key = f"signal:{lead.id}:{external_id}" if external_id else f"signal:{new_id('sig')}"
    stored = record_signal(session, lead, payload, runtime.clock.now(), key)
    if stored:
        lead_id = lead.id
        after_commit(session, lambda: runtime.dispatcher.wake(lead_id))
    return stored


def erase(session: Session, runtime: Runtime, lead: Lead, business: Business) -> None:
    """Erase the lead's personal data everywhere (raises LeadBusy while a run holds the lead)."""
    if mailbox.claim(session, lead.id, "privacy-erasure", runtime.clock.now(), timedelta(minutes=1)) is None:
        raise LeadBusy()
    # Ad platforms hold the lead's hashes: the removal outlives the lead row (it keeps only hashes).
    queue_audience(session, lead, business, "remove", "erased", runtime.clock.now())
    lead_id = lead.id
    erase_lead(session, lead)
    after_commit(session, lambda: runtime.checkpointer.erase_thread(lead_id))
