"""Reading every lead's ledger of one business from the database, in a handful of queries.

The session must be scoped to the business (`transaction(..., business_id=...)`); the explicit
`business_id` filters keep the queries on the business index as well.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from agent.attribution.ledger import Converted, LeadLedger, Sent
from agent.experiments import ARM_KIND, HOLDOUT, HOLDOUT_DETAIL
from nudge.models import Conversion, LeadActivity, Message, TrackedLink

# Statuses only move forward (scheduler.delivery.apply_status), so the last one implies the ones
# before it; only a failure needs its history read, to tell "failed once sent" from "never sent".
# Reading every history (and every `info` document) as JSON was most of a report's time.
_IMPLIED = {
    "read": frozenset({"sent", "delivered", "read"}),
    "delivered": frozenset({"sent", "delivered"}),
    "sent": frozenset({"sent"}),
    "undelivered": frozenset({"sent", "undelivered"}),
}


def _statuses(status: str, history: list[dict[str, str]] | None) -> frozenset[str]:
    implied = _IMPLIED.get(status)
    if implied is not None:
        return implied
    return frozenset({status, *(str(h.get("status")) for h in history or ())})


def read_ledgers(session: Session, business_id: str) -> list[LeadLedger]:
    ledgers: dict[str, LeadLedger] = {}

    def ledger(lead_id: str) -> LeadLedger:
        found = ledgers.get(lead_id)
        if found is None:
            found = ledgers[lead_id] = LeadLedger(lead_id)
        return found

    messages = session.execute(
        sa.select(
            Message.lead_id,
            Message.direction,
            Message.touch,
            Message.channel,
            Message.author,
            Message.composer,
            Message.status,
            sa.case((Message.status == "failed", Message.status_history), else_=sa.null()),
            Message.info["variant"].as_string(),
            Message.info["asset"].as_string(),
            Message.info["arm"].as_string(),
            Message.created_at,
            Message.sent_at,
        )
        .where(Message.business_id == business_id)
        .order_by(Message.created_at, Message.id)
    )
    for (
        lead_id,
        direction,
        touch,
        channel,
        author,
        composer,
        status,
        history,
        variant,
        asset,
        arm,
        created_at,
        sent_at,
    ) in messages:
        if direction == "in":
            ledger(lead_id).inbound.append(created_at)
            continue
        if touch is None or author != "agent":
            continue  # a conversational answer or a rep's message, not a touch of the sequence
        ledger(lead_id).sent.append(
            Sent(
                touch,
                channel,
                sent_at or created_at,
                _statuses(status, history),
                variant or "",
                asset[11:] if asset and asset.startswith("case_study:") else "",
                composer,
                arm or "",
            )
        )
    clicks = session.execute(
        sa.select(TrackedLink.lead_id, TrackedLink.touch, TrackedLink.first_clicked_at).where(
            TrackedLink.business_id == business_id, TrackedLink.first_clicked_at.is_not(None)
        )
    )
    for lead_id, touch, at in clicks:
        if touch is not None and at is not None:
            known = ledger(lead_id).clicks
            known[touch] = min(at, known.get(touch, at))
    conversions = session.execute(
        sa.select(Conversion.lead_id, Conversion.occurred_at, Conversion.value, Conversion.currency, Conversion.touch)
        # A withdrawn conversion (a cancelled booking) did not happen as far as credit goes.
        .where(Conversion.business_id == business_id, Conversion.withdrawn_at.is_(None))
        .order_by(Conversion.occurred_at, Conversion.id)
    )
    for lead_id, at, value, currency, touch in conversions:
        ledger(lead_id).conversions.append(Converted(at, value, currency, touch))
    arms = session.execute(
        sa.select(LeadActivity.lead_id, LeadActivity.touch, LeadActivity.kind, LeadActivity.detail, LeadActivity.at)
        .where(
            LeadActivity.business_id == business_id,
            sa.or_(
                LeadActivity.kind == ARM_KIND,
                sa.and_(LeadActivity.kind == "touch_skipped", LeadActivity.detail.startswith(HOLDOUT_DETAIL)),
            ),
        )
        .order_by(LeadActivity.at, LeadActivity.id)
    )
    for lead_id, touch, kind, detail, at in arms:
        if touch is not None:
            label = detail if kind == ARM_KIND else f"{detail.removeprefix(HOLDOUT_DETAIL)}:{HOLDOUT}"
            ledger(lead_id).arms.setdefault(touch, (label, at))  # a retried touch keeps its first draw
    return list(ledgers.values())
