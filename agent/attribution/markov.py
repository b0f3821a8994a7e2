"""Data-driven attribution: removal effects on a first-order Markov chain.

Every journey is a path START → state … → CONVERSION (converted) or NULL (not). Transition
probabilities are the observed shares. A state's removal effect is the share of the chain's
conversion probability lost when that state is removed (everything that would enter it goes to
NULL instead). Conversions (and value) are divided in proportion to the removal effects, so the
credits add up to the total (Anderl et al., 2016).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


def transitions(paths: Sequence[tuple[Sequence[str], bool]]) -> dict[str, dict[str, float]]:
    """Observed transition probabilities of the chain, from (states, converted) paths."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for states, converted in paths:
        if not states:
            continue
        walk = [START, *states, CONVERSION if converted else NULL]
        for here, there in itertools.pairwise(walk):
            counts[here][there] += 1
    return {here: {there: n / sum(out.values()) for there, n in out.items()} for here, out in counts.items()}


def conversion_probability(chain: dict[str, dict[str, float]], removed: str | None = None) -> float:
    """P(reach CONVERSION from START), with `removed` (if given) turned into a dead end."""
    states = [s for s in chain if s != removed]
    if START not in states:
        return 0.0
    index = {s: i for i, s in enumerate(states)}
    # Absorption probabilities x solve x = Q x + r, i.e. (I - Q) x = r.
    q = np.zeros((len(states), len(states)))
    r = np.zeros(len(states))
    for here in states:
        for there, p in chain[here].items():
            if there == CONVERSION:
                r[index[here]] += p
            elif there in index:
                q[index[here], index[there]] += p
    x = np.linalg.solve(np.eye(len(states)) - q, r)
    return float(x[index[START]])


def removal_effects(chain: dict[str, dict[str, float]]) -> dict[str, float]:
    base = conversion_probability(chain)
    if base <= 0:
        return {}
    return {s: 1.0 - conversion_probability(chain, removed=s) / base for s in chain if s != START}


def shares(paths: Sequence[tuple[Sequence[str], bool]]) -> dict[str, float]:
    """Each state's share of the conversions: its removal effect over the sum of them all."""
    effects = removal_effects(transitions(paths))
    total = sum(effects.values())
    if total <= 0:
        return {}
    return {s: e / total for s, e in effects.items()}
