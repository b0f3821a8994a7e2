"""Qualification with the LLM when one is configured, the offline rules otherwise or on failure.

The rules always run first: opt-out and auto-reply detection stay deterministic and auditable,
and their answer is the fallback. The model's intent is kept only when its evidence is the lead's
own words and the message does not try to instruct the agent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from agent.composer.base import Usage
from agent.composer.prompts import QualifyOut, qualify_messages
from agent.composer.similarity import normalise
from agent.llm.client import LLM, LLMUnavailable
from agent.llm.injection import injection_cues
from agent.qualifier import Qualification, qualify

LLM_CONFIDENCE = 0.8
# A hot lead goes to a person at once. The model alone may not send one there: the rules must see
# some buying signal too, so text that talks the model into "hot" does not reach a rep.
HOT_CORROBORATION = 30


@dataclass(frozen=True)
class Qualified:
    result: Qualification
    usage: tuple[Usage, ...] = ()
    note: str | None = None  # why the offline rules decided although a model is configured


class Qualifier(Protocol):
    def __call__(self, text: str, *, default_language: str, business_id: str, urgent: bool = False) -> Qualified:
        """What the lead's message says about them; `urgent` when touch 1 waits for the answer."""


def offline_qualifier(text: str, *, default_language: str, business_id: str, urgent: bool = False) -> Qualified:
    return Qualified(qualify(text, default_language=default_language))


class LLMQualifier:
    def __init__(self, llm: LLM) -> None:
        self._llm = llm

    def __call__(self, text: str, *, default_language: str, business_id: str, urgent: bool = False) -> Qualified:
        rules = qualify(text, default_language=default_language)
        if rules.intent in ("opt_out", "auto_reply"):
            return Qualified(rules)
        cues = injection_cues(text)
        if cues:
            return Qualified(rules, note=f"the message tries to instruct the agent ({cues[0]}): rules decided")
        try:
            answer = self._llm.ask(
                QualifyOut,
                qualify_messages(text, default_language),
                task="qualify",
                business_id=business_id,
                # The lead's first message: touch 1 waits for this answer, so touch 1's budget.
                timeout=self._llm.first_touch_timeout if urgent else None,
                retry=not urgent,
            )
        except LLMUnavailable as exc:
            return Qualified(rules, (exc.usage,) if exc.usage else (), f"LLM unavailable ({exc.reason}): rules decided")
        out = answer.value
        evidence = normalise(out.evidence)
        if not evidence or evidence not in normalise(text):
            rejected = replace(answer.usage, outcome="rejected")
            return Qualified(rules, (rejected,), "the model's evidence is not in the lead's words: rules decided")
        if out.intent == "hot" and rules.intent != "hot" and rules.score < HOT_CORROBORATION:
            kept = replace(answer.usage, outcome="rejected")
            return Qualified(rules, (kept,), "the model called the lead hot without a buying signal: rules decided")
        result = Qualification(
            intent=out.intent,
            language=rules.language,  # the offline detector is tested on en/es/pt; the model may drift
            score=out.score,
            reasons=(f"LLM: {out.intent} on “{out.evidence.strip()[:80]}” (+{out.score})",),
            confidence=LLM_CONFIDENCE,
            is_vague=out.is_vague,
            industry_hint=out.industry or rules.industry_hint,
            timeline=rules.timeline,
            timeline_evidence=rules.timeline_evidence,
            budget=rules.budget,
            budget_evidence=rules.budget_evidence,
            signals=rules.signals,
        )
        return Qualified(result, (answer.usage,))
