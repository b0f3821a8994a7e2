"""The qualification record: what one lead message (plus what came before) says about the lead.

A frozen dataclass rather than a pydantic model: it is created on every inbound message, carries
no validation-worthy input (the qualifier builds it), and must round-trip through the LangGraph
state, which holds JSON primitives only — hence `to_dict()` / `from_dict()`. Sequence fields are
tuples so that the record is really immutable; `to_dict()` turns them into lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

Intent = Literal["hot", "researching", "question", "not_interested", "opt_out", "auto_reply"]
Timeline = Literal["today", "this_week", "this_month", "this_quarter", "later"]
Budget = Literal["approved", "mentioned_amount", "price_sensitive"]
BreakupAnswer = Literal["keep_open", "close", "not_now"]

INTENTS: tuple[Intent, ...] = get_args(Intent)
TIMELINES: tuple[Timeline, ...] = get_args(Timeline)
BUDGETS: tuple[Budget, ...] = get_args(Budget)

# Every reason that moves the score ends in "(+N)" or "(-N)"; reasons without one are notes.
_POINTS = re.compile(r"\(([+-]\d+)\)\s*$")


def reason_points(reason: str) -> int:
    """The score points a reason string accounts for (0 for notes such as "opted out")."""
    match = _POINTS.search(reason)
    return int(match.group(1)) if match else 0


@dataclass(frozen=True, slots=True)
class Qualification:
    """What the offline qualifier (or, later, the LLM) concluded from a lead's message.

    `score` is exactly the sum of the points written in `reasons` (clamping to 0..100 appears as
    its own reason), so a rep can see where every point came from. `signals` are the machine keys
    behind the reasons, as "key" or "key=evidence" (e.g. "urgency=asap"); passing this record back
    as `previous=` lets the next message build on them (a follow-up answer "next week" adds a
    timeline to an earlier demo request).
    """

    intent: Intent
    language: str
    score: int
    reasons: tuple[str, ...]
    confidence: float
    is_vague: bool = False
    industry_hint: str | None = None
    timeline: Timeline | None = None
    timeline_evidence: str | None = None
    budget: Budget | None = None
    budget_evidence: str | None = None
    signals: tuple[str, ...] = ()

    @property
    def is_human_reply(self) -> bool:
        """False for out-of-office, away messages and delivery bots: they must not pause a cadence."""
        return self.intent != "auto_reply"

    def to_dict(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "language": self.language,
            "score": self.score,
            "reasons": list(self.reasons),
            "confidence": self.confidence,
            "is_vague": self.is_vague,
            "industry_hint": self.industry_hint,
            "timeline": self.timeline,
            "timeline_evidence": self.timeline_evidence,
            "budget": self.budget,
            "budget_evidence": self.budget_evidence,
            "signals": list(self.signals),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Qualification:
        """Inverse of `to_dict()`; rejects unknown intents/timelines/budgets with ValueError."""
        intent = data["intent"]
        if intent not in INTENTS:
            raise ValueError(f"unknown intent {intent!r}")
        timeline = data.get("timeline")
        if timeline is not None and timeline not in TIMELINES:
            raise ValueError(f"unknown timeline {timeline!r}")
        budget = data.get("budget")
        if budget is not None and budget not in BUDGETS:
            raise ValueError(f"unknown budget {budget!r}")
        return cls(
            intent=cast(Intent, intent),
            language=str(data["language"]),
            score=int(data["score"]),
            reasons=tuple(str(r) for r in data.get("reasons", ())),
            confidence=float(data.get("confidence", 0.0)),
            is_vague=bool(data.get("is_vague", False)),
            industry_hint=data.get("industry_hint"),
            timeline=cast("Timeline | None", timeline),
            timeline_evidence=data.get("timeline_evidence"),
            budget=cast("Budget | None", budget),
            budget_evidence=data.get("budget_evidence"),
            signals=tuple(str(s) for s in data.get("signals", ())),
        )
