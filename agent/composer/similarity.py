"""Exact and near-duplicate detection between two messages to the same lead."""

from __future__ import annotations

import functools
import re
import unicodedata
from difflib import SequenceMatcher

NEAR_DUPLICATE_RATIO = 0.85
_URL = re.compile(r"https?://\S+")
_NON_WORD = re.compile(r"[^\w]+")


@functools.lru_cache(maxsize=8192)
def normalise(text: str) -> str:
    """Lower case, accents folded, links and punctuation dropped: what a reader compares."""
    text = _URL.sub(" ", text.lower())
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return _NON_WORD.sub(" ", text).strip()


def similarity(a: str, b: str) -> float:
    left, right = normalise(a), normalise(b)
    if not left or not right:
        return 1.0 if left == right else 0.0
    return SequenceMatcher(None, left, right, autojunk=False).ratio()


def is_near_duplicate(a: str, b: str, threshold: float = NEAR_DUPLICATE_RATIO) -> bool:
    left, right = normalise(a), normalise(b)
    if not left or not right:
        return left == right
    matcher = SequenceMatcher(None, left, right, autojunk=False)
    # The quick ratios are upper bounds of ratio(): most pairs are ruled out without the full match.
    return (
        matcher.real_quick_ratio() >= threshold and matcher.quick_ratio() >= threshold and matcher.ratio() >= threshold
    )
