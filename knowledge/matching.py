"""Pick the case study to show a lead: same industry, preferably same language, never repeated.

1. Detect the lead's industry from their message (and the industry they gave on a form, passed as
   `industry_hint`). No confident industry means no match: touch 4 then falls back to a general
   story or is skipped by the value rule; a story from the wrong industry is worse than none.
2. Among the business's case studies of that industry, take the one closest to the message,
   first in the lead's language, then in any language, skipping `exclude_ids` (the case studies
   already sent to this lead).
3. Score = 0.75 x industry confidence + 0.15 x text similarity + 0.10 if the language matches;
   below `threshold` the result is None.
"""

from __future__ import annotations

from collections.abc import Collection as AbstractCollection
from dataclasses import dataclass

from knowledge.industries import ExtraSynonyms, IndustryGuess, detect_industry
from knowledge.store import CaseStudy, KnowledgeStore, ScoredStudy

MATCH_THRESHOLD = 0.45
INDUSTRY_WEIGHT = 0.75
SIMILARITY_WEIGHT = 0.15
LANGUAGE_WEIGHT = 0.10
CANDIDATES = 3


@dataclass(frozen=True)
class Match:
    case_study: CaseStudy
    score: float
    industry: str
    industry_confidence: float
    similarity: float
    language_match: bool
    evidence: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.case_study.key


@dataclass(frozen=True)
class MatchResult:
    """What the CLI and API show: the industry guess, and the match if there is one."""

    guess: IndustryGuess
    match: Match | None
    reason: str


def _score(confidence: float, similarity: float, language_match: bool) -> float:
    sim = min(1.0, max(0.0, similarity))
    value = INDUSTRY_WEIGHT * confidence + SIMILARITY_WEIGHT * sim + (LANGUAGE_WEIGHT if language_match else 0.0)
    return round(value, 4)


def _first_allowed(hits: list[ScoredStudy], exclude: AbstractCollection[str]) -> ScoredStudy | None:
    for hit in hits:
        if hit.case_study.key not in exclude:
            return hit
    return None


def find_match(
    store: KnowledgeStore,
    business_id: str,
    text: str,
    *,
    language: str,
    industry_hint: str | None = None,
    exclude_ids: AbstractCollection[str] = (),
    extra: ExtraSynonyms | None = None,
    threshold: float = MATCH_THRESHOLD,
) -> MatchResult:
    """Detect the industry and find the best case study, saying why when there is none."""
    # One embedding of the message serves both industry detection and retrieval.
    embedding = store.embed_query(text) if text.strip() else None
    guess = detect_industry(
        text, form_field=industry_hint, extra=extra, language=language, model=store.model, embedding=embedding
    )
    if guess.industry is None:
        return MatchResult(guess, None, "no confident industry in the lead's message")
    exclude = frozenset(exclude_ids)
    if embedding is None:
        embedding = store.embed_query(industry_hint or guess.industry)
    n = CANDIDATES + len(exclude)
    hit = _first_allowed(
        store.query(business_id, embedding=embedding, n_results=n, industry=guess.industry, language=language),
        exclude,
    )
    if hit is None:
        hit = _first_allowed(
            store.query(business_id, embedding=embedding, n_results=n, industry=guess.industry), exclude
        )
    if hit is None:
        return MatchResult(guess, None, f"no unsent case study for industry {guess.industry!r}")
    language_match = hit.case_study.language == language
    score = _score(guess.confidence, hit.similarity, language_match)
    if score < threshold:
        return MatchResult(guess, None, f"best score {score:.2f} is below the threshold {threshold:.2f}")
    match = Match(
        case_study=hit.case_study,
        score=score,
        industry=guess.industry,
        industry_confidence=guess.confidence,
        similarity=round(hit.similarity, 4),
        language_match=language_match,
        evidence=guess.evidence,
    )
    return MatchResult(guess, match, "matched")


def match_case_study(
    store: KnowledgeStore,
    business_id: str,
    text: str,
    *,
    language: str,
    industry_hint: str | None = None,
    exclude_ids: AbstractCollection[str] = (),
    extra: ExtraSynonyms | None = None,
    threshold: float = MATCH_THRESHOLD,
) -> Match | None:
    """The best case study for this lead, or None when unsure (see the module docstring)."""
    return find_match(
        store,
        business_id,
        text,
        language=language,
        industry_hint=industry_hint,
        exclude_ids=exclude_ids,
        extra=extra,
        threshold=threshold,
    ).match
