"""Touch 1 quotes what the lead asked only as a whole phrase, never as a clipped fragment (#19)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.topics import MAX_TOPIC, extract_topic

HELDOUT = Path(__file__).parents[3] / "eval" / "acts" / "heldout.jsonl"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi! I would like pricing for 3 clinics. Thanks", "pricing for 3 clinics"),
        (
            "we need more leads for our roofing business in texas, and we need to grow fast",
            "more leads for our roofing business in texas",
        ),
        ("hola, necesito saber cuánto cuesta el plan para mi clínica dental con tres sillones y además ¿qué", ""),
        ("quero saber o preço para", ""), ("we are looking for", ""),
    ],
)  # fmt: skip
def test_whole_phrases_only(text: str, expected: str) -> None:
    assert extract_topic(text) == expected


def test_no_clipped_quotes_on_the_labelled_messages() -> None:
    for line in HELDOUT.read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        topic = extract_topic(text)
        assert len(topic) <= MAX_TOPIC
        if topic:
            assert topic in text, (topic, text)  # a phrase of the message, cut only at a clause end
            rest = text[text.index(topic) + len(topic) :].lstrip(" ")
            assert not rest or rest[0] in ",;:.!?\n¿¡\"'" or len(topic.split()) == len(text.split()), (topic, text)
