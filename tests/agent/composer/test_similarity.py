"""The near-duplicate check takes shortcuts (length and letter-count bounds) before difflib's full
ratio; the shortcuts must never change the answer."""

from __future__ import annotations

import random
import re
import unicodedata
from difflib import SequenceMatcher

from agent.composer.similarity import NEAR_DUPLICATE_RATIO, is_near_duplicate, normalise

WORDS = [
    "hi",
    "ana",
    "the",
    "plan",
    "costs",
    "yearly",
    "monthly",
    "offer",
    "case",
    "study",
    "we",
    "helped",
    "a",
    "clinic",
    "grow",
    "fast",
    # Letters outside a-z after folding share one slot of the letter-count bound.
    "привет",
    "мир",
    "ελλάδα",
    "日本",
    "ñandú",
    "straße",
]


def _message(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 14)))


def _full_ratio(a: str, b: str) -> bool:
    left, right = normalise(a), normalise(b)
    if not left or not right:
        return left == right
    return SequenceMatcher(None, left, right, autojunk=False).ratio() >= NEAR_DUPLICATE_RATIO


def test_the_shortcuts_agree_with_the_full_ratio_on_random_pairs() -> None:
    rng = random.Random(7)
    pairs = [(_message(rng), _message(rng)) for _ in range(1500)]
    # Near copies too (a word changed, dropped or added), where the bounds pass and ratio decides.
    for _ in range(1500):
        words = _message(rng).split()
        edited = list(words)
        edited[rng.randrange(len(edited))] = rng.choice(WORDS)
        if rng.random() < 0.5:
            edited.append(rng.choice(WORDS))
        pairs.append((" ".join(words), " ".join(edited)))
    verdicts = [(is_near_duplicate(a, b), _full_ratio(a, b)) for a, b in pairs]
    assert all(fast == full for fast, full in verdicts)
    assert sum(full for _, full in verdicts) > 100  # both answers really occur
    assert sum(not full for _, full in verdicts) > 100


def test_punctuation_case_accents_and_links_do_not_make_a_message_new() -> None:
    assert is_near_duplicate("Olá Ana, veja: https://x.example/a", "ola ana veja https://y.example/b")
    assert not is_near_duplicate("Hi Ana, the yearly plan", "We helped a clinic grow")
    assert is_near_duplicate("", "!!!")


def _plain_normalise(text: str) -> str:
    """The definition `normalise` speeds up: NFD, then every combining mark (Mn) dropped."""
    text = re.sub(r"https?://\S+", " ", text.lower())
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return re.sub(r"[^\w]+", " ", text).strip()


def test_normalise_folds_exactly_the_combining_marks_on_random_unicode() -> None:
    rng = random.Random(11)
    # Latin with accents, the combining block itself, Cyrillic, Devanagari (its vowel signs are
    # marks too), CJK and an emoji, mixed with ASCII.
    ranges = [(32, 0x250), (0x300, 0x370), (0x400, 0x500), (0x900, 0x980), (0x4E00, 0x4E20), (0x1F600, 0x1F610)]
    pool = [chr(code) for start, end in ranges for code in range(start, end)]
    texts = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    texts += ["Olá, José! Você já viu a promoção?", "¿Qué tal, Muñoz?", "plain ascii text"]
    assert [normalise(t) for t in texts] == [_plain_normalise(t) for t in texts]
