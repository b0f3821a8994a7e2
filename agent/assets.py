"""The value each touch must carry (the value rule): resource, case study, offer, content.

Assets come from the business profile (resources, offer, booking link, content) and the
knowledge base (case studies). A touch whose asset cannot be found is skipped, not sent empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Asset:
    kind: str
    key: str  # identifies the asset so a lead never gets the same one twice
    values: Mapping[str, str]  # placeholders for the composer (urls still untracked)
    urls: Mapping[str, str]  # placeholder name → url to track


def localised(value: Any, language: str, default_language: str) -> str:
    """A profile text in `language` (a plain string, or one per language)."""
    if isinstance(value, dict):
        return str(value.get(language) or value.get(default_language) or next(iter(value.values()), ""))
    return str(value or "")


def _ranked_items(items: Iterable[Mapping[str, Any]], industry: str | None, language: str) -> list[Mapping[str, Any]]:
    def rank(item: Mapping[str, Any]) -> tuple[int, int]:
        item_industry, item_language = item.get("industry"), item.get("language")
        return (
            0 if industry and item_industry == industry else (1 if not item_industry else 2),
            0 if item_language == language else (1 if not item_language else 2),
        )

    return sorted((i for i in items if i.get("url") and i.get("title")), key=rank)


def pick_link_item(
    profile: Mapping[str, Any],
    field: str,
    *,
    industry: str | None,
    language: str,
    used: frozenset[str],
    prefix: str,
) -> Asset | None:
    items = profile.get(field) or []
    if not isinstance(items, list):
        return None
    for item in _ranked_items(items, industry, language):
        key = f"{field}:{item['url']}"
        if key in used:
            continue
        return Asset(
            kind=field,
            key=key,
            values={f"{prefix}_title": str(item["title"])},
            urls={f"{prefix}_url": str(item["url"])},
        )
    return None


def resource_asset(
    profile: Mapping[str, Any], *, industry: str | None, language: str, used: frozenset[str]
) -> Asset | None:
    return pick_link_item(profile, "resources", industry=industry, language=language, used=used, prefix="resource")


def content_asset(
    profile: Mapping[str, Any], *, industry: str | None, language: str, used: frozenset[str]
) -> Asset | None:
    """Re-engagement content: the profile's `content`, else a resource not sent yet."""
    found = pick_link_item(profile, "content", industry=industry, language=language, used=used, prefix="content")
    if found:
        return found
    resource = resource_asset(profile, industry=industry, language=language, used=used)
    if resource is None:
        return None
    return Asset(
        kind="content",
        key=resource.key,
        values={"content_title": resource.values["resource_title"]},
        urls={"content_url": resource.urls["resource_url"]},
    )


def offer_asset(
    profile: Mapping[str, Any], *, language: str, default_language: str, used: frozenset[str]
) -> Asset | None:
    offer = localised(profile.get("offer"), language, default_language)
    if not offer:
        return None
    booking = str(profile.get("booking_url") or "")
    return Asset(
        kind="offer", key=f"offer:{offer}", values={"offer": offer}, urls={"booking_url": booking} if booking else {}
    )


def case_study_asset(case_id: str, title: str, result: str, url: str | None) -> Asset:
    return Asset(
        kind="case_study",
        key=f"case_study:{case_id}",
        values={"case_title": title, "case_result": result},
        urls={"case_url": url} if url else {},
    )


def matching_fact(profile: Mapping[str, Any], text: str, language: str, default_language: str) -> str:
    """A profile fact whose keywords the lead's message mentions ('' if none): the agent may
    state only facts the business wrote down."""
    lowered = text.lower()
    best, best_hits = "", 0
    for fact in profile.get("facts") or []:
        if not isinstance(fact, dict):
            continue
        keywords = [str(k).lower() for k in fact.get("keywords", [])]
        hits = sum(1 for k in keywords if k and k in lowered)
        if hits > best_hits:
            best, best_hits = localised(fact.get("text"), language, default_language), hits
    best = best.strip()
    return best if not best or best[-1] in ".!?" else best + "."
