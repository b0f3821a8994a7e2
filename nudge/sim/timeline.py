"""Per-lead timelines (messages and the agent's decisions) for printing and `--json`."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from agent.channels.sms import segments
from nudge.models import Lead, LeadActivity, Message


def timelines(session: Session, start: datetime) -> list[dict[str, Any]]:
    messages: dict[str, list[Message]] = defaultdict(list)
    for message in session.scalars(sa.select(Message).order_by(Message.created_at, Message.id)):
        messages[message.lead_id].append(message)
    decisions: dict[str, list[LeadActivity]] = defaultdict(list)
    for act in session.scalars(
        sa.select(LeadActivity)
        .where(
            LeadActivity.kind.in_(
                ("touch_held", "touch_skipped", "escalated", "opted_out", "delivery_failed", "audience", "help")
            )
        )
        .order_by(LeadActivity.at, LeadActivity.id)
    ):
        decisions[act.lead_id].append(act)
    result = []
    for lead in session.scalars(sa.select(Lead).order_by(Lead.created_at, Lead.id)):
        result.append(
            {
                "lead_id": lead.id,
                "name": lead.name,
                "language": lead.locale,
                "source": lead.source,
                "timezone": lead.timezone,
                "stage": lead.stage,
                "score": lead.score,
                "messages": [
                    {
                        "direction": m.direction,
                        "channel": m.channel,
                        "touch": m.touch,
                        "author": m.author,
                        "composer": m.composer,
                        "template_sid": m.template_sid,
                        "text": m.body,
                        "status": m.status,
                        "at": m.created_at.isoformat(),
                        "day": round((m.created_at - start).total_seconds() / 86400, 3),
                        "channel_note": (m.info or {}).get("channel_reason"),
                        "sms_segments": segments(m.body) if m.channel == "sms" else None,
                        "llm_fallback": (m.info or {}).get("llm_fallback"),
                    }
                    for m in messages.get(lead.id, [])
                ],
                "decisions": [
                    {"kind": a.kind, "touch": a.touch, "channel": a.channel, "detail": a.detail, "at": a.at.isoformat()}
                    for a in decisions.get(lead.id, [])
                ],
            }
        )
    return result
