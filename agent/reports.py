"""The reports of one business: attribution under a model, the funnel, recovery, experiments."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from agent.attribution import CreditReport, attribute
from agent.attribution.experiments import ExperimentResult, experiments
from agent.attribution.funnel import FunnelRow, Recovery, breakup_recovery, funnel, recovery
from agent.attribution.ledger import LeadLedger
from agent.ledger_reader import read_ledgers
from agent.sequence import Sequence


@dataclass(frozen=True)
class FunnelReport:
    leads: int
    rows: list[FunnelRow]
    recovery: Recovery
    breakup: Recovery
    experiments: list[ExperimentResult]


@contextmanager
def _bulk_allocation() -> Iterator[None]:
    """A report builds a few hundred thousand small tuples that never form cycles; the cyclic
    garbage collector would otherwise rescan them all again and again (half a report's time at
    10,000 leads). Reference counting still frees everything; collection resumes afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def attribution_report(
    session: Session, business_id: str, model: str, half_life: timedelta = timedelta(days=7)
) -> CreditReport:
    with _bulk_allocation():
        journeys = [ledger.journey() for ledger in read_ledgers(session, business_id)]
        return attribute(journeys, model, half_life=half_life)


def funnel_from(ledgers: list[LeadLedger], sequence: Sequence) -> FunnelReport:
    breakup = sequence.by_purpose("breakup")
    order = {t.experiment_name: [v.name for v in t.variants] for t in sequence.touches if t.has_experiment}
    return FunnelReport(
        leads=len(ledgers),
        rows=funnel(ledgers),
        recovery=recovery(ledgers, frozenset(t.number for t in sequence.touches if t.follow_up)),
        breakup=breakup_recovery(ledgers, breakup.number if breakup else None),
        experiments=experiments(ledgers, order),
    )


def funnel_report(session: Session, business_id: str, sequence: Sequence) -> FunnelReport:
    with _bulk_allocation():
        return funnel_from(read_ledgers(session, business_id), sequence)
