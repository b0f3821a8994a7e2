"""Answer the lead's last question from what the business wrote down, by meaning.

`agent.assets.matching_fact` finds a profile fact by its `keywords`; many businesses write facts
without any ("Plans start at 99 USD per month"). `fact_by_meaning` compares the question with each
fact's text (in the lead's language when the fact has one) on the offline embedding model, adds
a little for a fact that carries the kind of thing the question's topic asks for (an amount for
a price question, a duration for a timing one), and answers only when one fact clearly wins:
a wrong fact is worse than routing the question to a person.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np

from agent.acts.classifier import Embedder
from agent.assets import localised
from agent.qualifier._text import fold

MIN_SIMILARITY = 0.17
MIN_MARGIN = 0.05
TOPIC_BONUS = 0.15

# What a fact that answers each topic tends to contain.
_TOPIC_CUES: dict[str, str] = {
    "price": r"\d|\$|€|£|\b(usd|eur|brl|mxn|cop|ars|price|pricing|cost|fee|month|monthly|year|precio|costo|mes"
    r"|mensual|anual|preco|custo|mensal|plano|plan|gratis|free)\b",
    "timing": r"\b(days?|weeks?|hours?|minutes?|dias?|semanas?|horas?|minutos?|setup|onboarding|implementa\w*"
    r"|implanta\w*|start|live)\b",
    "location": r"\b(office|based|located|city|remote\w*|oficina|ubicad\w*|ciudad|remot\w*|escritorio|cidade"
    r"|sede|street|calle|rua|avenida)\b",
    "guarantee": r"\b(guarantee\w*|refund\w*|cancel\w*|contract|garantia|reembols\w*|devoluc\w*|contrato"
    r"|permanencia|fidelidade|cancela\w*)\b",
}


@cache
def _cues() -> dict[str, re.Pattern[str]]:
    return {topic: re.compile(pattern) for topic, pattern in _TOPIC_CUES.items()}


def fact_by_meaning(
    profile: Mapping[str, Any],
    question: str,
    language: str,
    default_language: str,
    embedder: Embedder,
    *,
    topic: str | None = None,
) -> str:
    """The profile fact that answers `question` ('' when none clearly does)."""
    texts = [
        localised(fact.get("text"), language, default_language).strip()
        for fact in profile.get("facts") or []
        if isinstance(fact, dict)
    ]
    texts = [text for text in texts if text]
    if not texts or not question.strip():
        return ""
    vectors = np.asarray(embedder.encode([*(t[:1000] for t in texts), question[:1000]], query=True), dtype=np.float32)
    scores = vectors[:-1] @ vectors[-1]
    cue = _cues().get(topic or "")
    if cue is not None:
        scores = scores + np.array([TOPIC_BONUS if cue.search(fold(t)) else 0.0 for t in texts], dtype=np.float32)
    order = np.argsort(-scores)
    best = float(scores[order[0]])
    second = float(scores[order[1]]) if len(order) > 1 else -1.0
    if best < MIN_SIMILARITY or best - second < MIN_MARGIN:
        return ""
    answer = texts[int(order[0])]
    return answer if answer[-1] in ".!?" else answer + "."
