"""Per-sender send rates: providers meter each sender, and a burst over the rate gets 429s.

Twilio allows about 80 messages/s per WhatsApp sender, 1/s per US long code, 3/s per toll-free
number; a burst of due touches must queue behind the sender's rate instead of being refused.
Each sender has a sliding window: a send may go as soon as fewer than `rate` sends went in the
second before it, so any one-second window holds at most `rate` sends whatever the provider's
window alignment, while twenty new leads arriving together are all answered at once (even
spacing would hold the twentieth WhatsApp reply back by a quarter of a second). The windows live
in this process: with several worker processes each paces its own sends (set the rates per
process).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers

from nudge.settings import Settings

# US/Canada toll-free area codes (NANP).
_TOLL_FREE_AREA_CODES = frozenset({"800", "833", "844", "855", "866", "877", "888"})


@dataclass(frozen=True)
class SendRates:
    """Messages per second per sender."""

    whatsapp: float = 80.0
    sms_long_code: float = 1.0
    sms_toll_free: float = 3.0
    sms_short_code: float = 100.0
    email: float = 20.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SendRates:
        return cls(
            whatsapp=settings.rate_whatsapp,
            sms_long_code=settings.rate_sms_long_code,
            sms_toll_free=settings.rate_sms_toll_free,
            sms_short_code=settings.rate_sms_short_code,
            email=settings.rate_email,
        )

    def per_second(self, channel: str, sender: str) -> float:
        if channel == "whatsapp":
            return self.whatsapp
        if channel == "email":
            return self.email
        kind = sms_sender_kind(sender)
        if kind == "short_code":
            return self.sms_short_code
        return self.sms_toll_free if kind == "toll_free" else self.sms_long_code


def sms_sender_kind(sender: str) -> str:
    """'short_code' (5-6 digits), 'toll_free' (NANP 8XX) or 'long_code' (any other number)."""
    digits = "".join(c for c in sender if c.isdigit())
    if not sender.startswith("+") and 5 <= len(digits) <= 6:
        return "short_code"
    try:
        parsed = phonenumbers.parse(sender, None)
    except phonenumbers.NumberParseException:
        return "long_code"
    national = str(parsed.national_number)
    if parsed.country_code == 1 and national[:3] in _TOLL_FREE_AREA_CODES:
        return "toll_free"
    return "long_code"


EDGE_MARGIN = timedelta(milliseconds=1)


@dataclass(frozen=True)
class Window:
    """At most `size` sends in any stretch of time `span` long."""

    size: int
    span: timedelta

    @classmethod
    def for_rate(cls, per_second: float) -> Window:
        # A whole number of sends per window, and never more than `per_second` in one second:
        # 3.5/s allows 3 in any second, 0.5/s one in any two seconds. Rounded up to whole
        # microseconds: 1/3 s rounded down would fit four sends in a second.
        size = max(1, math.floor(per_second))
        return cls(size, timedelta(microseconds=math.ceil(max(1.0, size / per_second) * 1_000_000)))


class SenderPacer:
    """Hands out send slots per (channel, sender); thread-safe, so dispatcher threads queue in time.

    A slot is only taken by a send that will wait for it (`max_wait` at most); a row whose turn is
    further off goes back to the outbox until then and asks again, so the window holds between
    actual sends even when a tick or a worker comes late.
    """

    def __init__(self, rates: SendRates) -> None:
        self._rates = rates
        self._lock = threading.Lock()
        self._recent: dict[tuple[str, str], deque[datetime]] = {}  # the sender's last `size` slots

    def reserve(self, channel: str, sender: str, now: datetime, max_wait: timedelta) -> tuple[datetime, bool]:
        """(slot, taken): the sender's next free slot, taken when it is at most `max_wait` away."""
        rate = self._rates.per_second(channel, sender)
        if rate <= 0:
            return now, True
        window = Window.for_rate(rate)
        key = (channel, sender)
        with self._lock:
            recent = self._recent.setdefault(key, deque(maxlen=window.size))
            slot = max(now, recent[-1]) if recent else now  # slots never go back in time
            if len(recent) == window.size:
                # The oldest of the last `size` slots must have left the window, with a margin:
                # the provider's clock is not ours, and a send exactly on the edge may count twice.
                slot = max(slot, recent[0] + window.span + EDGE_MARGIN)
            if slot - now > max_wait:
                return slot, False
            recent.append(slot)
            return slot, True
