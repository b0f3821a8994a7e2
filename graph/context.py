"""What a graph run may use besides its state; built by the dispatcher for each run.

The run's database session is here: nodes add and change rows, and the dispatcher commits once
the graph has finished, together with the mailbox bookkeeping.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from agent.composer import Composer
from agent.outbound import SentHistory, sent_history
from agent.sequence import Sequence
from nudge.clock import Clock
from nudge.models import Business, Lead


class CaseStudyPick(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def url(self) -> str | None: ...


class KnowledgePort(Protocol):
    """The knowledge base as the graph needs it (implemented by knowledge.service)."""

    def detect_industry(
        self, profile: Mapping[str, Any], text: str, form_field: str | None, language: str
    ) -> str | None: ...

    def pick_case_study(
        self,
        business_id: str,
        profile: Mapping[str, Any],
        text: str,
        industry: str | None,
        language: str,
        exclude: AbstractSet[str],
    ) -> CaseStudyPick | None: ...


@dataclass
class RunContext:
    session: Session
    clock: Clock
    business: Business
    lead: Lead
    sequence: Sequence
    composer: Composer
    public_url: str
    knowledge: KnowledgePort | None = None
    notifications: int = 0  # rep notifications queued by this run (delivered right after it)
    _history: SentHistory | None = field(default=None, repr=False)

    def history(self) -> SentHistory:
        """What the lead already received; re-read after this run queues a message."""
        if self._history is None:
            self._history = sent_history(self.session, self.lead.id)
        return self._history

    def forget_history(self) -> None:
        self._history = None
