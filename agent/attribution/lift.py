"""Lift of one arm over another with a confidence interval.

The interval for the difference of two independent proportions is Newcombe's hybrid score
interval (method 10 in Newcombe, 1998), built from each arm's Wilson score interval: it stays
inside [-1, 1] and behaves with small counts and rates near 0, where the Wald interval does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Lift:
    difference: float  # rate(arm) - rate(control)
    low: float
    high: float


def newcombe(successes: int, n: int, control_successes: int, control_n: int, z: float = Z_95) -> Lift | None:
    """None when either arm is empty (there is nothing to compare)."""
    if n == 0 or control_n == 0:
        return None
    p1, p2 = successes / n, control_successes / control_n
    l1, u1 = wilson(successes, n, z)
    l2, u2 = wilson(control_successes, control_n, z)
    d = p1 - p2
    return Lift(
        difference=d,
        low=d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        high=d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )
