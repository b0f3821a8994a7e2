"""Per-touch experiments: each arm's conversion rate and its lift over the control."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from agent.attribution.ledger import LeadLedger
from agent.attribution.lift import Lift, newcombe

HOLDOUT = "holdout"


@dataclass(frozen=True)
class ArmResult:
    arm: str
    leads: int
    converted: int
    lift: Lift | None  # None for the control itself

    @property
    def rate(self) -> float:
        return self.converted / self.leads if self.leads else 0.0


@dataclass(frozen=True)
class ExperimentResult:
    experiment: str
    touch: int
    control: str
    arms: list[ArmResult]


def _exposures(ledger: LeadLedger) -> dict[tuple[int, str], tuple[str, datetime]]:
    """(touch, experiment) → (arm, when the lead was assigned to it). Intention to treat: a lead
    counts in its arm whether or not the touch then reached it, as held-out leads do."""
    found: dict[tuple[int, str], tuple[str, datetime]] = {}
    for touch, (label, at) in ledger.arms.items():
        experiment, arm = label.rsplit(":", 1)
        found[(touch, experiment)] = (arm, at)
    return found


def experiments(
    ledgers: Iterable[LeadLedger], order: Mapping[str, Sequence[str]] | None = None
) -> list[ExperimentResult]:
    """A lead counts as converted in an arm when it converted after meeting the arm. The control
    is the holdout when there is one, else the first variant (in `order`, else by name)."""
    tallies: dict[tuple[int, str], dict[str, list[int]]] = {}
    for ledger in ledgers:
        for key, (arm, at) in _exposures(ledger).items():
            tally = tallies.setdefault(key, {}).setdefault(arm, [0, 0])
            tally[0] += 1
            tally[1] += any(c.at >= at for c in ledger.conversions)
    results = []
    for (touch, experiment), arms in sorted(tallies.items()):
        known = list((order or {}).get(experiment, ()))
        names = sorted(arms, key=lambda a: (a != HOLDOUT, known.index(a) if a in known else len(known), a))
        control = names[0]
        base_n, base_k = arms[control]
        results.append(
            ExperimentResult(
                experiment=experiment,
                touch=touch,
                control=control,
                arms=[
                    ArmResult(
                        arm=name,
                        leads=arms[name][0],
                        converted=arms[name][1],
                        lift=None if name == control else newcombe(arms[name][1], arms[name][0], base_k, base_n),
                    )
                    for name in names
                ],
            )
        )
    return results
