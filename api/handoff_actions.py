"""What a rep does with a handoff — claim, reply, resolve — for the API and the console alike.

The caller's session is already scoped (tenant and, for a rep, its handoffs) and opened at the
edge; these only change rows and queue the lead's signals (woken after the commit).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from agent.conversions import record_conversion
from agent.events.log import HANDOFF_CLAIMED, HANDOFF_RESOLVED, emit
from nudge.db import after_commit
from nudge.ids import new_id
from nudge.models import Handoff, Lead, Rep
from nudge.runtime import Runtime
from scheduler import mailbox


class HandoffConflict(Exception):
    """The handoff is not in a state that allows this (claimed by someone else, resolved)."""


def claim(session: Session, runtime: Runtime, handoff: Handoff, rep: Rep) -> Handoff:
    now = runtime.clock.now()
    # One conditional UPDATE decides a race: only the first claim finds the handoff still open.
    won = session.execute(
        sa.update(Handoff)
        .where(Handoff.id == handoff.id, Handoff.status == "open")
        .values(status="claimed", claimed_by=rep.id, claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(handoff)
    if not won:
        holder = "already claimed" if handoff.status == "claimed" else f"already {handoff.status}"
        raise HandoffConflict(f"handoff {handoff.id} is {holder}")
    data = {"handoff_id": handoff.id, "lead_id": handoff.lead_id, "rep_id": rep.id}
    emit(session, business_id=handoff.business_id, lead_id=handoff.lead_id, type=HANDOFF_CLAIMED, data=data, now=now)
    return handoff


def _signal(session: Session, runtime: Runtime, handoff: Handoff, kind: str, payload: dict[str, Any]) -> None:
    lead = session.get(Lead, handoff.lead_id)
    if lead is None:
        raise HandoffConflict(f"handoff {handoff.id}'s lead is gone")
    mailbox.enqueue(
        session, lead=lead, kind=kind, dedupe_key=f"{kind}:{new_id('rep')}", now=runtime.clock.now(), payload=payload
    )
    lead_id = lead.id
    after_commit(session, lambda: runtime.dispatcher.wake(lead_id))


def reply(
    session: Session, runtime: Runtime, handoff: Handoff, rep: Rep | None, text: str, template: str | None = None
) -> None:
    """Queue the rep's words for the lead; the lead's run sends them on its channel. `template`
    (an approved WhatsApp template's purpose) is what goes once WhatsApp's 24-hour window closed."""
    if handoff.status == "resolved":
        raise HandoffConflict(f"handoff {handoff.id} is resolved; the bot has the lead again")
    payload: dict[str, Any] = {"handoff_id": handoff.id, "text": text, "rep_id": rep.id if rep else None}
    if template:
        payload["template"] = template
    _signal(session, runtime, handoff, "rep_reply", payload)


def resolve(
    session: Session,
    runtime: Runtime,
    handoff: Handoff,
    outcome: str,
    *,
    value: float | None = None,
    currency: str | None = None,
    note: str = "",
) -> Handoff:
    """Close the handoff; `won` records the conversion here, in the transaction that receives it."""
    now = runtime.clock.now()
    done = session.execute(
        sa.update(Handoff)
        .where(Handoff.id == handoff.id, Handoff.status != "resolved")
        .values(status="resolved", outcome=outcome, resolved_at=now, note=note)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not done:
        raise HandoffConflict(f"handoff {handoff.id} is already resolved")
    payload: dict[str, Any] = {"handoff_id": handoff.id, "outcome": outcome}
    resolved = {**payload, "lead_id": handoff.lead_id, "note": note}
    emit(
        session, business_id=handoff.business_id, lead_id=handoff.lead_id, type=HANDOFF_RESOLVED, data=resolved, now=now
    )
    if outcome == "won":
        payload.update(type="won", value=value, currency=currency)
        lead = session.get(Lead, handoff.lead_id)
        if lead is not None:
            record_conversion(
                session,
                lead,
                kind="won",
                value=value,
                currency=currency,
                source="rep",
                at=now,
                dedupe_key=f"handoff-won:{handoff.id}",
            )
    _signal(session, runtime, handoff, "handoff_resolved", payload)
    session.refresh(handoff)
    return handoff
