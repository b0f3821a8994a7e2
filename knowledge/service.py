"""What the lead graph asks of the knowledge base: the lead's industry and a case study to show.

One object per process around one `KnowledgeStore`; the graph sees it through the
`graph.context.KnowledgePort` protocol.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from agent.language import detect_language
from knowledge.industries import detect_industry
from knowledge.matching import MatchResult, find_match
from knowledge.store import LANGUAGES, CaseStudy, KnowledgeStore

GENERAL = "general"  # a business's story for leads whose industry is unknown
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class CaseStudyPick:
    id: str
    title: str
    summary: str  # one line: the result ("cut no-shows by 38% in 3 months")
    url: str | None
    score: float
    industry: str


def one_line_result(study: CaseStudy) -> str:
    if isinstance(study.metrics, Mapping) and study.metrics:
        return ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in list(study.metrics.items())[:2])
    if isinstance(study.metrics, str) and study.metrics.strip():
        return study.metrics.strip()
    first = _SENTENCE.split(study.body.strip(), maxsplit=1)[0]
    return first if len(first) <= 160 else first[:157].rsplit(" ", 1)[0] + "…"


def synonyms(profile: Mapping[str, Any] | None) -> dict[str, list[str]] | None:
    """The business's own industries/synonyms (`profile.industries`), ignoring malformed entries.

    The profile is free-form JSON, so a value may be a list of words, one word, or junk.
    """
    raw = (profile or {}).get("industries")
    if not isinstance(raw, Mapping):
        return None
    out: dict[str, list[str]] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not key.strip():
            continue
        words = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        out[key] = [w.strip() for w in words if isinstance(w, str) and w.strip()]
    return out or None


def match_text(
    store: KnowledgeStore,
    business_id: str,
    text: str,
    *,
    language: str | None,
    default_language: str,
    industry: str | None,
    extra: dict[str, list[str]] | None,
) -> tuple[MatchResult, str]:
    """`nudge kb match` and `GET /v1/case-studies/match`: the match and the language used
    (detected from the text when not given)."""
    resolved = language or detect_language(text, default_language if default_language in LANGUAGES else "en")
    hint = (industry.strip() or None) if industry else None
    return find_match(store, business_id, text, language=resolved, industry_hint=hint, extra=extra), resolved


class KnowledgeService:
    def __init__(self, store: KnowledgeStore) -> None:
        self.store = store

    def detect_industry(
        self, profile: Mapping[str, Any], text: str, form_field: str | None, language: str
    ) -> str | None:
        guess = detect_industry(text, form_field=form_field, extra=synonyms(profile), language=language)
        return guess.industry

    def pick_case_study(
        self,
        business_id: str,
        profile: Mapping[str, Any],
        text: str,
        industry: str | None,
        language: str,
        exclude: AbstractSet[str],
    ) -> CaseStudyPick | None:
        result = find_match(
            self.store,
            business_id,
            text,
            language=language,
            industry_hint=industry,
            exclude_ids=exclude,
            extra=synonyms(profile),
        )
        if result.match is not None:
            study = result.match.case_study
            return CaseStudyPick(
                study.key, study.title, one_line_result(study), study.url, result.match.score, result.match.industry
            )
        # No confident industry match: the business's general story, if it has one.
        for language_filter in (language, None):
            for study in self.store.list(business_id, industry=GENERAL, language=language_filter):
                if study.key not in exclude:
                    return CaseStudyPick(study.key, study.title, one_line_result(study), study.url, 0.0, GENERAL)
        return None
