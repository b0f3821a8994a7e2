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


class _WithoutMarks(dict[int, int | None]):
    """A `str.translate` table that drops combining marks (category Mn) and keeps everything else,
    learning each character once: folding accents then costs one C call per text, not two
    Python calls per character (every new message is a new text: its links are new)."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.category(chr(code)) == "Mn" else code
        self[code] = kept
        return kept


_DROP_MARKS = _WithoutMarks()


@functools.lru_cache(maxsize=8192)
def normalise(text: str) -> str:
    """Lower case, accents folded, links and punctuation dropped: what a reader compares."""
    text = _URL.sub(" ", text.lower())
    if not text.isascii():  # ASCII has no accents to fold
        text = unicodedata.normalize("NFD", text).translate(_DROP_MARKS)
    return _NON_WORD.sub(" ", text).strip()


def similarity(a: str, b: str) -> float:
    left, right = normalise(a), normalise(b)
    if not left or not right:
        return 1.0 if left == right else 0.0
    return SequenceMatcher(None, left, right, autojunk=False).ratio()


# Letter counts as a vector over a fixed alphabet, the rest in one last slot: the overlap of two
# texts is then sum(map(min, …)) in C. Lumping the other characters together can only overstate
# the overlap, so the bound stays an upper bound.
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789 "


@functools.lru_cache(maxsize=8192)
def _letters(text: str) -> tuple[int, ...]:
    counts = Counter(text)
    known = tuple(counts.get(letter, 0) for letter in _ALPHABET)
    return (*known, len(text) - sum(known))


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
    if 2.0 * sum(map(min, _letters(left), _letters(right))) / total < threshold:
        return False
    return SequenceMatcher(None, left, right, autojunk=False).ratio() >= threshold
