"""What a lead is doing with one message: its dialogue act, the act's topic, and a deferral date.

A frozen dataclass that round-trips through JSON (`to_dict` / `from_dict`) because the graph state
and activity rows hold JSON primitives only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, cast, get_args

Act = Literal[
    "question",  # asks something: topic price / how / timing / location / guarantee / bot
    "meeting",  # wants to meet or be called: topic time (a moment is named) / none
    "person",  # asks for a human
    "yes",
    "no",  # a plain "no" to a question ("no, we don't have a website"), not a refusal
    "decline",  # refuses the offer ("no thanks, we're happy with our agency")
    "defer",  # come back later, with `defer_until` when a moment is named
    "objection",  # topic price / timing / trust
    "greeting",  # greets or thanks, nothing else
    "auto_reply",
    "opt_out",
    "injection",  # tries to instruct the bot
]
ACTS: tuple[Act, ...] = get_args(Act)

#: Acts that make a lead hot: a person should take over.
HOT_ACTS: frozenset[Act] = frozenset({"meeting", "person"})

QUESTION_TOPICS = ("price", "how", "timing", "location", "guarantee", "bot")
OBJECTION_TOPICS = ("price", "timing", "trust")
MEETING_TOPICS = ("time", "none")

Source = Literal["rule", "learned"]


@dataclass(frozen=True, slots=True)
class Reading:
    """One message's act. `evidence` says why (the rule's words, or the learned model's margin)."""

    act: Act
    topic: str | None = None
    defer_until: date | None = None
    confidence: float = 1.0
    source: Source = "rule"
    evidence: str = ""

    @property
    def is_hot(self) -> bool:
        return self.act in HOT_ACTS

    def reason(self) -> str:
        """A one-line reason for the activity log ("act defer until 2027-01-07 (rule: ...)")."""
        parts = [f"act {self.act}"]
        if self.topic:
            parts.append(f"({self.topic})")
        if self.defer_until is not None:
            parts.append(f"until {self.defer_until.isoformat()}")
        parts.append(f"[{self.source} {self.confidence:.2f}{': ' + self.evidence if self.evidence else ''}]")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "act": self.act,
            "topic": self.topic,
            "defer_until": self.defer_until.isoformat() if self.defer_until else None,
            "confidence": self.confidence,
            "source": self.source,
            "evidence": self.evidence,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reading:
        act = data["act"]
        if act not in ACTS:
            raise ValueError(f"unknown act {act!r}")
        source = data.get("source", "rule")
        if source not in ("rule", "learned"):
            raise ValueError(f"unknown source {source!r}")
        until = data.get("defer_until")
        return cls(
            act=cast(Act, act),
            topic=data.get("topic"),
            defer_until=date.fromisoformat(until) if until else None,
            confidence=float(data.get("confidence", 1.0)),
            source=cast(Source, source),
            evidence=str(data.get("evidence", "")),
        )
