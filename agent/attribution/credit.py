"""Credit per touch, channel, touch × channel, case study, wording variant, experiment arm and
composer (phrasebook or LLM)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from agent.attribution import heuristic, markov
from agent.attribution.journey import Journey, TouchPoint

MODELS = ("first", "last", "linear", "time_decay", "position", "markov")
NONE = "(none)"

Key = Callable[[TouchPoint], str]
DIMENSIONS: dict[str, Key] = {
    "touch": lambda t: str(t.touch),
    "channel": lambda t: t.channel,
    "touch_channel": lambda t: f"{t.touch}:{t.channel}",
    "case_study": lambda t: t.case_study or NONE,
    "variant": lambda t: t.variant or NONE,
    "arm": lambda t: t.arm or NONE,
    "composer": lambda t: t.composer or NONE,  # template (phrasebook) or llm
}


@dataclass
class Credit:
    conversions: float = 0.0
    value: dict[str, float] = field(default_factory=dict)  # currency → value

    def add(self, conversions: float, value: dict[str, float], share: float) -> None:
        self.conversions += conversions * share
        for currency, amount in value.items():
            self.value[currency] = self.value.get(currency, 0.0) + amount * share


@dataclass
class CreditReport:
    model: str
    total: Credit  # what was attributed: converted journeys that had at least one touch
    unattributed: int  # conversions with no touch before them (nothing to credit)
    journeys: int
    by: dict[str, dict[str, Credit]]  # dimension → key → credit


def _weights(model: str, half_life: timedelta) -> Callable[[Journey], list[float]]:
    rules: dict[str, Callable[[Journey], list[float]]] = {
        "first": heuristic.first_touch,
        "last": heuristic.last_touch,
        "linear": heuristic.linear,
        "position": heuristic.position_based,
        "time_decay": partial(heuristic.time_decay, half_life=half_life),
    }
    return rules[model]


def _rule_based(converted: Sequence[Journey], weights: Callable[[Journey], list[float]], key: Key) -> dict[str, Credit]:
    credits: dict[str, Credit] = defaultdict(Credit)
    for journey in converted:
        for point, weight in zip(journey.touches, weights(journey), strict=True):
            credits[key(point)].add(1.0, journey.value, weight)
    return dict(credits)


def _data_driven(journeys: Sequence[Journey], total: Credit, key: Key) -> dict[str, Credit]:
    paths = [([key(t) for t in j.touches], j.converted) for j in journeys]
    credits: dict[str, Credit] = {}
    for state, share in markov.shares(paths).items():
        credits[state] = Credit()
        credits[state].add(total.conversions, total.value, share)
    return credits


def attribute(
    journeys: Sequence[Journey],
    model: str,
    *,
    half_life: timedelta = timedelta(days=7),
    dimensions: Sequence[str] = tuple(DIMENSIONS),
) -> CreditReport:
    if model not in MODELS:
        raise ValueError(f"unknown model '{model}'; use one of {', '.join(MODELS)}")
    converted = [j for j in journeys if j.converted and j.touches]
    total = Credit()
    for journey in converted:
        total.add(1.0, journey.value, 1.0)
    by: dict[str, dict[str, Credit]] = {}
    for dimension in dimensions:
        key = DIMENSIONS[dimension]
        if model == "markov":
            by[dimension] = _data_driven(journeys, total, key)
        else:
            by[dimension] = _rule_based(converted, _weights(model, half_life), key)
    return CreditReport(
        model=model,
        total=total,
        unattributed=sum(1 for j in journeys if j.converted and not j.touches),
        journeys=len(journeys),
        by=by,
    )
