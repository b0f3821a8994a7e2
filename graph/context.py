"""What a graph run may use besides its state; built by the dispatcher for each run.

The run's database session is here: nodes add and change rows, and the dispatcher commits once
the graph has finished, together with the mailbox bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session

from agent.composer import Composer
from agent.sequence import Sequence
from nudge.clock import Clock
from nudge.models import Business, Lead


class CaseStudyMatch(Protocol):
    id: str
    title: str
    url: str | None
    summary: str
    score: float


CaseStudyFinder = Callable[[Business, Lead, str, frozenset[str]], CaseStudyMatch | None]


@dataclass
class RunContext:
    session: Session
    clock: Clock
    business: Business
    lead: Lead
    sequence: Sequence
    composer: Composer
    public_url: str
    find_case_study: CaseStudyFinder | None = None
    notes: list[str] = field(default_factory=list)  # human-readable trail of this run's decisions
