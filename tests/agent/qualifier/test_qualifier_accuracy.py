"""Accuracy of the offline qualifier on the labelled example sets (see DATA.md).

Run with `-s` to see the per-class and per-language tables. Floors, and why they are where they
are (numbers are from the run that set them):

* dev (180, written with the rules — 100%): floor 0.97 overall, 0.9 per class. A regression guard.
* held-out (360, four rounds written *before* the rules saw them; first-run accuracy per round
  was 100% / 65.6% / 67.8% / 68.9%, and each round was then used to broaden the rules — now 100%):
  floor 0.95 overall, 0.85 per class. Also a regression guard; its first-run numbers are the
  honest generalisation estimate (~2/3 on phrasing the rules have never seen).
* blind (90, written last, first run 63.3%): only the opt-out and auto-reply families it surfaced
  were fixed (now 78.9%); its hot / not-interested / question misses are left alone so this file
  keeps measuring generalisation for those classes. Floor 0.75 overall; 0.9 for opt-out and
  auto-reply, where a miss is a compliance problem or a bot treated as a person.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agent.qualifier import INTENTS, is_auto_reply, is_opt_out, qualify

HERE = Path(__file__).parent
LANGUAGES = ("en", "es", "pt")


def load(name: str) -> list[dict[str, Any]]:
    with (HERE / f"examples_{name}.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def report(name: str, rows: list[dict[str, Any]]) -> tuple[float, dict[str, float], dict[str, float], list[str]]:
    """Print per-class and per-language accuracy; return (overall, per class, per language, misses)."""
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    language_hits = 0
    misses: list[str] = []
    for row in rows:
        result = qualify(row["text"])
        ok = result.intent == row["intent"]
        language_hits += result.language == row["language"]
        for bucket in (row["intent"], row["language"]):
            totals[bucket] += 1
            hits[bucket] += ok
        if not ok:
            misses.append(f"{row['language']} want={row['intent']} got={result.intent}: {row['text']!r}")
    overall = sum(hits[i] for i in INTENTS) / len(rows)
    per_class: dict[str, float] = {i: hits[i] / totals[i] for i in INTENTS if totals[i]}
    per_language = {lang: hits[lang] / totals[lang] for lang in LANGUAGES if totals[lang]}
    print(
        f"\n== {name}: {len(rows)} examples, intent accuracy {overall:.1%}, language detection "
        f"{language_hits / len(rows):.1%}"
    )
    for intent, value in per_class.items():
        print(f"   {intent:<15} {value:6.1%}  ({hits[intent]}/{totals[intent]})")
    for lang, value in per_language.items():
        print(f"   lang={lang:<10} {value:6.1%}  ({hits[lang]}/{totals[lang]})")
    for miss in misses:
        print(f"   miss: {miss}")
    return overall, per_class, per_language, misses


@pytest.mark.parametrize(
    ("name", "overall_floor", "class_floor"),
    [("dev", 0.97, 0.9), ("heldout", 0.95, 0.85)],
)
def test_accuracy_on_tuned_sets(name: str, overall_floor: float, class_floor: float) -> None:
    overall, per_class, per_language, misses = report(name, load(name))
    assert overall >= overall_floor, misses
    assert min(per_class.values()) >= class_floor, (per_class, misses)
    assert min(per_language.values()) >= class_floor, (per_language, misses)


def test_accuracy_on_blind_set() -> None:
    overall, per_class, per_language, misses = report("blind", load("blind"))
    assert overall >= 0.75, misses
    assert per_class["opt_out"] >= 0.9, misses
    assert per_class["auto_reply"] >= 0.9, misses
    assert min(per_language.values()) >= 0.6, (per_language, misses)


def test_heldout_rounds_are_reported() -> None:
    # The per-round numbers make the "first run vs now" story in DATA.md checkable.
    rows = load("heldout")
    for round_number in sorted({row["round"] for row in rows}):
        report(f"heldout round {round_number}", [row for row in rows if row["round"] == round_number])


def test_sets_are_balanced_and_large_enough() -> None:
    for name, per_cell in (("dev", 10), ("heldout", 20), ("blind", 5)):
        rows = load(name)
        cells = Counter((row["intent"], row["language"]) for row in rows)
        assert set(cells) == {(i, lang) for i in INTENTS for lang in LANGUAGES}, name
        assert set(cells.values()) == {per_cell}, (name, cells)
    assert len(load("dev")) + len(load("heldout")) + len(load("blind")) >= 150


def test_no_false_opt_outs_or_auto_replies_in_any_set() -> None:
    # The two checks with the worst false positives (silencing a live lead; ignoring a person)
    # must be exact on every example that is neither.
    for name in ("dev", "heldout", "blind"):
        for row in load(name):
            if row["intent"] != "opt_out":
                assert not is_opt_out(row["text"]), row
            if row["intent"] != "auto_reply":
                assert not is_auto_reply(row["text"]), row
