"""What a graph run may use besides its state; built by the dispatcher for each run.

The run's database session is here: nodes add and change rows, and the dispatcher commits once
the graph has finished, together with the mailbox bookkeeping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from agent import activity
from agent.acts import ActClassifier
from agent.composer import Composer, Usage
from agent.links import TokenSource, new_token
from agent.llm import Qualifier, offline_qualifier
from agent.outbound import SentHistory, sent_history
from agent.qualifier import Qualification
from agent.sequence import Sequence
from nudge.clock import Clock
from nudge.ids import IdSource, new_id
from nudge.models import Business, Lead, LlmUsage


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
    qualifier: Qualifier = offline_qualifier
    acts: ActClassifier | None = None  # None: the process-wide reader (graph.acts.shared_reader)
    first_touch_promise: float = 60.0  # seconds from the lead's arrival to touch 1
    link_token: TokenSource = new_token  # seeded in a simulation
    ids: IdSource = new_id  # for ids the run shows (seeded in a simulation)
    notifications: int = 0  # rep notifications queued by this run (delivered right after it)
    _history: SentHistory | None = field(default=None, repr=False)

    def history(self) -> SentHistory:
        """What the lead already received; re-read after this run queues a message."""
        if self._history is None:
            self._history = sent_history(self.session, self.lead.id)
        return self._history

    def forget_history(self) -> None:
        self._history = None

    def record_usage(self, usage: Iterable[Usage], message_id: str | None = None) -> None:
        """Tokens spent for this lead, in the run's transaction (per lead and business)."""
        now = self.clock.now()
        for item in usage:
            self.session.add(
                LlmUsage(
                    business_id=self.lead.business_id,
                    lead_id=self.lead.id,
                    message_id=message_id,
                    task=item.task,
                    model=item.model,
                    prompt_tokens=item.prompt_tokens,
                    completion_tokens=item.completion_tokens,
                    outcome=item.outcome,
                    at=now,
                )
            )

    def first_touch_seconds_left(self) -> float:
        """What is left of touch 1's promise (runs queued behind slow model calls eat into it)."""
        waited = (self.clock.now() - self.lead.created_at).total_seconds()
        return self.first_touch_promise - waited

    def qualify(self, text: str, default_language: str, *, urgent: bool = False) -> Qualification:
        """The configured qualifier (LLM or offline rules); says why when the rules stood in.
        `urgent`: touch 1 waits for the answer (the lead's first message); past half of its
        promise the offline rules answer at once, leaving the rest to the draft."""
        qualifier = self.qualifier
        if urgent and self.first_touch_seconds_left() < self.first_touch_promise / 2:
            qualifier = offline_qualifier
        qualified = qualifier(text, default_language=default_language, business_id=self.business.id, urgent=urgent)
        self.record_usage(qualified.usage)
        if qualified.note:
            activity.record(self.session, self.lead, self.clock.now(), "qualifier", qualified.note)
        return qualified.result
