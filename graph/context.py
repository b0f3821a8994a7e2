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
from agent.outbound import SentHistory, sent_history
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
    _history: SentHistory | None = field(default=None, repr=False)

    def history(self) -> SentHistory:
        """What the lead already received; re-read after this run queues a message."""
        if self._history is None:
            self._history = sent_history(self.session, self.lead.id)
        return self._history

    def forget_history(self) -> None:
        self._history = None
