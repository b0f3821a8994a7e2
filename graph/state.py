"""The per-lead graph state: JSON primitives only; transcripts live in Nudge's tables."""

from __future__ import annotations

from typing import Any, TypedDict


class InboxItem(TypedDict):
    """One mailbox event drained into this run."""

    id: str
    kind: str  # inbound | lead_created | touch_due | quiet_check | delivery_failed | signal | click | status | rep
    payload: dict[str, Any]


class LeadState(TypedDict, total=False):
    lead_id: str
    inbox: list[InboxItem]  # input of the current run

    stage: str
    last_touch: int  # highest touch number done (sent, or skipped for a recorded reason)
    next_touch: int | None
    next_due_at: str | None  # ISO-8601 UTC
    anchor_at: str  # the lead's last contact; touch delays count from here
    last_follow_up_at: str | None  # last unsolicited touch (quiet hours + daily cap rules)
    engaged_at: str | None  # the lead clicked one of our links since the last touch: the next comes sooner
    quiet_check_at: str | None  # no touch left and the lead talked: when silence ends the conversation
    clarify_turns: int
    qualified: bool
    handoff_id: str | None
    industry_checked: bool
    qualification: dict[str, Any]  # the latest Qualification.to_dict(), for the handoff summary
    sla_check_at: str | None  # when an unclaimed handoff is re-sent (ISO-8601 UTC)
    kept_warm: bool  # the lead got one keep-warm message while waiting for a rep
    paused_until: str | None  # the lead deferred ("next month"): no follow-up before this (ISO-8601 UTC)
    act: dict[str, Any]  # the latest agent.acts.Reading.to_dict()
    runs: int

    # Decided by `absorb` for this run only.
    route: str
    due_touch: int | None
    reply_ids: list[str]
    failed_message_id: str | None
    hot: bool  # the first message already shows buying intent: escalate after touch 1
