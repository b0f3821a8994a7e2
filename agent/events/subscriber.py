"""What receives domain events: a business's webhook endpoint or a CRM connector, one interface.

`scheduler.events` claims a delivery, builds its subscriber and calls `deliver` after the commit;
the subscriber raises `DeliveryError` saying whether (and when) to try again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class Envelope:
    """One event as every subscriber sees it. `id` is the same on every attempt (`webhook-id`)."""

    id: str
    type: str
    occurred_at: datetime
    business_id: str
    lead_id: str | None
    data: dict[str, Any]

    def body(self) -> bytes:
        """The Standard Webhooks payload shape: type, timestamp and data; the same bytes each time."""
        document = {"type": self.type, "timestamp": self.occurred_at.isoformat(), "data": self.data}
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class DeliveryError(Exception):
    """The subscriber did not take the event. `final`: retrying cannot help (a refused URL, a
    revoked token); `retry_after`: seconds the far side asked us to wait (HTTP 429)."""

    def __init__(
        self, message: str, *, final: bool = False, retry_after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.final, self.retry_after, self.status = final, retry_after, status


class Subscriber(Protocol):
    def deliver(self, event: Envelope, now: datetime) -> int | None:
        """Hand the event over; returns the HTTP status it was answered with. Raises DeliveryError."""


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """An HTTP `Retry-After`: delta seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 86_400))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, min((when - now).total_seconds(), 86_400.0))
