"""A circuit breaker: after repeated failures the model is not called for a while.

While open, every caller goes straight to its fallback instead of waiting out a timeout each;
after the cool-down one call is let through to probe whether the endpoint is back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitBreaker:
    def __init__(self, *, failures: int, cooldown: float, now: Callable[[], float] = time.monotonic) -> None:
        # Real elapsed time, not the domain Clock: the endpoint recovers in wall-clock time even
        # when the simulator runs days in seconds.
        self._threshold = failures
        self._cooldown = cooldown
        self._now = now
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._opened_at is not None

    def allow(self) -> bool:
        """May a call go out now? While open, only one probe after the cool-down."""
        with self._lock:
            if self._opened_at is None:
                return True
            if self._probing or self._now() - self._opened_at < self._cooldown:
                return False
            self._probing = True
            return True

    def success(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._probing = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._probing or self._failures >= self._threshold:
                self._opened_at, self._probing = self._now(), False
