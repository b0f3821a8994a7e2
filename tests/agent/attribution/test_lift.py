"""Wilson and Newcombe intervals against the worked examples in Newcombe (1998)."""

from __future__ import annotations

import pytest

from agent.attribution.lift import newcombe, wilson


def test_wilson_interval_matches_the_published_example() -> None:
    # Newcombe 1998 (Stat Med 17:857), table I: 81/263 → 0.2553 to 0.3662.
    low, high = wilson(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


def test_newcombe_difference_interval_matches_the_published_example() -> None:
    # Newcombe 1998 (Stat Med 17:873), method 10, example (a): 56/70 - 48/80 → 0.0524 to 0.3339.
    lift = newcombe(56, 70, 48, 80)
    assert lift is not None
    assert lift.difference == pytest.approx(0.2)
    assert (round(lift.low, 4), round(lift.high, 4)) == (0.0524, 0.3339)


def test_an_empty_arm_has_no_lift() -> None:
    assert newcombe(0, 0, 3, 10) is None
