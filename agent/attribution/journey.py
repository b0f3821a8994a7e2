"""What attribution works on: each lead's touches in time order and whether (and for how much)
they converted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple


class TouchPoint(NamedTuple):
    """One touch that reached the lead (a queued-then-sent message of the sequence).
    A named tuple: reports build tens of thousands of them, and a frozen dataclass is slow to make."""

    touch: int
    channel: str
    at: datetime
    variant: str = ""  # the wording that was sent (phrasebook id or approved template)
    case_study: str = ""
    composer: str = ""  # template | llm
    arm: str = ""  # experiment arm, e.g. "touch3:short"


@dataclass(frozen=True)
class Journey:
    """A lead's path. For a converted lead only the touches before its first conversion count."""

    lead_id: str
    touches: tuple[TouchPoint, ...]
    converted_at: datetime | None = None
    value: dict[str, float] = field(default_factory=dict)  # currency → value of its conversions

    @property
    def converted(self) -> bool:
        return self.converted_at is not None
