"""Retry delays for provider calls (messages, rep notifications, audience syncs)."""

from __future__ import annotations

import random
from datetime import timedelta


def backoff(attempt: int, rng: random.Random, *, base: float = 1.0, cap: float = 300.0) -> timedelta:
    """Exponential with full jitter: a delay in [c/2, c) with c = base·2^attempt, capped at `cap`
    seconds (by default 2, 4, 8… seconds up to 5 minutes)."""
    ceiling = min(cap, base * 2.0**attempt)
    return timedelta(seconds=ceiling / 2 + rng.random() * ceiling / 2)
