"""Exact and near-duplicate detection between two messages to the same lead."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
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


@functools.lru_cache(maxsize=8192)
def _letters(text: str) -> Counter[str]:
    return Counter(text)


def is_near_duplicate(a: str, b: str, threshold: float = NEAR_DUPLICATE_RATIO) -> bool:
    left, right = normalise(a), normalise(b)
    if not left or not right:
        return left == right
    # Two upper bounds of ratio() first, as difflib's real_quick_ratio() and quick_ratio() compute
    # them, but without building a SequenceMatcher (its index of the second text costs more than
    # the bounds): most pairs are ruled out by length or by letter counts alone.
    total = len(left) + len(right)
    if 2.0 * min(len(left), len(right)) / total < threshold:
        return False
    if 2.0 * (_letters(left) & _letters(right)).total() / total < threshold:
        return False
    return SequenceMatcher(None, left, right, autojunk=False).ratio() >= threshold
