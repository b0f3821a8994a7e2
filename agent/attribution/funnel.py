"""Per-touch funnel, and how many leads that went quiet came back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agent.attribution.ledger import LeadLedger

COLD_AFTER = timedelta(days=1)
STAGES = ("sent", "delivered", "read", "replied", "clicked", "converted")


@dataclass
class FunnelRow:
    """Counts of leads. `replied` and `converted` go to the latest touch the lead had been sent
    when it happened, so no reply or sale is counted under two touches."""

    touch: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))


def _first_sends(ledger: LeadLedger) -> list[tuple[int, datetime]]:
    """(touch, first time it reached the provider), in time order."""
    seen: dict[int, datetime] = {}
    for sent in ledger.sent:
        if sent.statuses & {"sent", "delivered", "read", "undelivered"} and sent.touch not in seen:
            seen[sent.touch] = sent.at
    return sorted(seen.items(), key=lambda item: item[1])


def _latest_touch_at(sends: Sequence[tuple[int, datetime]], moment: datetime) -> int | None:
    latest = None
    for touch, at in sends:
        if at <= moment:
            latest = touch
    return latest


def funnel(ledgers: Iterable[LeadLedger]) -> list[FunnelRow]:
    rows: dict[int, FunnelRow] = {}
    for ledger in ledgers:
        sends = _first_sends(ledger)
        for touch, _ in sends:
            row = rows.setdefault(touch, FunnelRow(touch))
            statuses = frozenset().union(*(s.statuses for s in ledger.sent if s.touch == touch))
            row.counts["sent"] += 1
            row.counts["delivered"] += bool(statuses & {"delivered", "read"})
            row.counts["read"] += "read" in statuses
            row.counts["clicked"] += touch in ledger.clicks
        replied_to = {_latest_touch_at(sends, at) for at in ledger.inbound}
        for replied in replied_to:
            if replied is not None:
                rows[replied].counts["replied"] += 1
        if ledger.converted_at is not None:
            converted_on = _latest_touch_at(sends, ledger.converted_at)
            if converted_on is not None:
                rows[converted_on].counts["converted"] += 1
    return [rows[t] for t in sorted(rows)]


@dataclass(frozen=True)
class Recovery:
    leads: int  # that went cold (or were sent the break-up)
    recovered: int

    @property
    def rate(self) -> float:
        return self.recovered / self.leads if self.leads else 0.0


def cold_and_back(outbound: Sequence[datetime], inbound: Sequence[datetime]) -> tuple[bool, bool]:
    """(went cold, came back). Cold: a follow-up went out after a day or more of the lead's
    silence (or before the lead ever wrote); back: the lead wrote after that."""
    cold_since = None
    for at in sorted(outbound):
        last_in = max((i for i in inbound if i <= at), default=None)
        if last_in is None or at - last_in >= COLD_AFTER:
            cold_since = at
            break
    if cold_since is None:
        return False, False
    return True, any(i > cold_since for i in inbound)


def recovery(ledgers: Iterable[LeadLedger], follow_ups: frozenset[int]) -> Recovery:
    cold = back = 0
    for ledger in ledgers:
        went, came = cold_and_back([s.at for s in ledger.sent if s.touch in follow_ups and s.reached], ledger.inbound)
        cold += went
        back += came
    return Recovery(cold, back)


def breakup_recovery(ledgers: Iterable[LeadLedger], breakup_touch: int | None) -> Recovery:
    """Of the leads sent the break-up message, how many wrote back or bought after it."""
    sent = back = 0
    if breakup_touch is None:
        return Recovery(0, 0)
    for ledger in ledgers:
        at = min((s.at for s in ledger.sent if s.touch == breakup_touch and s.reached), default=None)
        if at is None:
            continue
        sent += 1
        back += any(i > at for i in ledger.inbound) or any(c.at > at for c in ledger.conversions)
    return Recovery(sent, back)
