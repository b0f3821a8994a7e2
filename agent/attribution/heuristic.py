"""Rule-based models: how one converting journey's single conversion is split over its touches.

Every function returns one weight per touch, summing to 1, so whatever is credited adds up to
what was converted.
"""

from __future__ import annotations

from datetime import timedelta

from agent.attribution.journey import Journey


def first_touch(journey: Journey) -> list[float]:
    n = len(journey.touches)
    return [1.0] + [0.0] * (n - 1)


def last_touch(journey: Journey) -> list[float]:
    n = len(journey.touches)
    return [0.0] * (n - 1) + [1.0]


def linear(journey: Journey) -> list[float]:
    n = len(journey.touches)
    return [1.0 / n] * n


def position_based(journey: Journey, ends: float = 0.4) -> list[float]:
    """40/20/40: the first and last touch get `ends` each, the middle ones share the rest.
    With two touches each gets half (there is no middle to give the 20 % to)."""
    n = len(journey.touches)
    if n == 1:
        return [1.0]
    if n == 2:
        return [0.5, 0.5]
    middle = (1.0 - 2 * ends) / (n - 2)
    return [ends] + [middle] * (n - 2) + [ends]


def time_decay(journey: Journey, half_life: timedelta) -> list[float]:
    """A touch's weight halves for every `half_life` between it and the conversion."""
    assert journey.converted_at is not None
    end = journey.converted_at
    raw = [0.5 ** ((end - t.at) / half_life) for t in journey.touches]
    total = sum(raw)
    return [w / total for w in raw]
