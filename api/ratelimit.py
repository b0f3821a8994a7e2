"""Token buckets: per API key for /v1, per client address for webhooks and public links.

In memory, per process: with N API processes a client gets up to N times the rate, which is
fine for abuse limits (they stop floods, they are not billing). Time comes from the caller.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

from api.errors import ApiError


class RateLimiter:
    def __init__(self, rate_per_second: float, burst: int, *, max_clients: int = 100_000) -> None:
        self.rate, self.burst, self._max = rate_per_second, max(1, burst), max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str, now: float) -> float:
        """Spend one token: 0.0 when allowed, else the seconds until a token is back."""
        if not self.enabled:
            return 0.0
        with self._lock:
            tokens, at = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + max(0.0, now - at) * self.rate)
            if tokens >= 1.0:
                self._remember(key, tokens - 1.0, now)
                return 0.0
            self._remember(key, tokens, now)
            return (1.0 - tokens) / self.rate

    def _remember(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self._max:  # the least recently seen client is forgotten (full again)
            self._buckets.popitem(last=False)

    def check(self, key: str, now: float, what: str) -> None:
        """Raise the 429 the API answers with when `key` is over its rate."""
        wait = self.take(key, now)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise ApiError(
                429,
                "rate_limited",
                f"too many requests for this {what}; retry in {retry} s",
                {"Retry-After": str(retry)},
            )
