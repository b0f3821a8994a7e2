"""One lead's ledger as the reports see it: touches sent, replies, clicks, conversions, experiment arms.

Built from the database by `agent.ledger_reader`; everything downstream is pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from agent.attribution.journey import Journey, TouchPoint

REACHED = frozenset({"sent", "delivered", "read"})  # the provider took it and did not bounce it


class Sent(NamedTuple):
    touch: int
    channel: str
    at: datetime
    statuses: frozenset[str]  # every status the message went through
    variant: str = ""
    case_study: str = ""
    composer: str = ""
    arm: str = ""

    @property
    def reached(self) -> bool:
        return bool(self.statuses & REACHED) and not self.statuses & {"failed", "undelivered"}


@dataclass(frozen=True)
class Converted:
    at: datetime
    value: float | None
    currency: str | None
    touch: int | None = None  # the touch whose tracked link led to it (a booking through our link)


@dataclass
class LeadLedger:
    lead_id: str
    sent: list[Sent] = field(default_factory=list)  # time order
    inbound: list[datetime] = field(default_factory=list)  # time order
    clicks: dict[int, datetime] = field(default_factory=dict)  # touch → first click
    conversions: list[Converted] = field(default_factory=list)  # time order
    # touch → (arm label "experiment:arm", when the lead was assigned), holdouts included
    arms: dict[int, tuple[str, datetime]] = field(default_factory=dict)

    @property
    def converted_at(self) -> datetime | None:
        return self.conversions[0].at if self.conversions else None

    def journey(self) -> Journey:
        """The touches that reached the lead before its first conversion (all of them if none).
        A conversion made through a touch's tracked link ends the journey at that touch: what was
        sent after it did not lead there."""
        end = self.converted_at
        cutoff = end
        credited = self.conversions[0].touch if self.conversions else None
        if credited is not None and end is not None:
            sends = [s.at for s in self.sent if s.touch == credited and s.reached and s.at <= end]
            cutoff = max(sends) if sends else end
        touches = tuple(
            TouchPoint(s.touch, s.channel, s.at, s.variant, s.case_study, s.composer, s.arm)
            for s in self.sent
            if s.reached and (cutoff is None or s.at <= cutoff)
        )
        value: dict[str, float] = {}
        for conversion in self.conversions:
            if conversion.value is not None:
                currency = conversion.currency or ""
                value[currency] = value.get(currency, 0.0) + conversion.value
        return Journey(lead_id=self.lead_id, touches=touches, converted_at=end, value=value)
