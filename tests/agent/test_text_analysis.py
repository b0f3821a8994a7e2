"""Analysis of lead text takes linear time and reads a bounded prefix (issue #17, item 3).

Timings compare ratios on the same machine in the same run, never absolute figures: 4× the input
must cost well under 16× (what a quadratic pattern costs), and under 8× leaves room for a noisy
2-core machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from agent.composer.guardrails import invented_fact_problem
from agent.language import detect_language, language_scores
from agent.llm.injection import injection_cues
from agent.qualifier import is_auto_reply, is_opt_out, parse_breakup_answer, qualify
from agent.qualifier.rules import compiled_budget_rules
from agent.text import ANALYSED_CHARS, analysed, control_problem, strip_controls
from agent.topics import extract_topic

ANALYSERS: dict[str, Callable[[str], object]] = {
    "language_scores": language_scores,
    "qualify": qualify,
    "is_opt_out": is_opt_out,
    "is_auto_reply": is_auto_reply,
    "parse_breakup_answer": parse_breakup_answer,
    "extract_topic": extract_topic,
    "injection_cues": injection_cues,
    "invented_fact_problem": lambda text: invented_fact_problem(text, text),
}

# Shapes that made a pattern retry from every position of a long run.
INPUTS: dict[str, Callable[[int], str]] = {
    "one long word": lambda n: "a" * n,
    "long digits": lambda n: "9" * n,
    "digits and commas": lambda n: "1," * (n // 2),
    "digits and dots": lambda n: "1." * (n // 2),
    "long whitespace": lambda n: " \n\t" * (n // 3),
    "short words": lambda n: "ab " * (n // 3),
}
SMALL = 2_000
LARGE = 4 * SMALL  # both under ANALYSED_CHARS: this measures the patterns, not the bound


def _best_of(fn: Callable[[str], object], text: str, runs: int = 3) -> float:
    """Seconds per call: the best of `runs` batches, each long enough (20 ms) for the timer."""
    calls, best = 1, float("inf")
    while runs:
        started = time.perf_counter()
        for _ in range(calls):
            fn(text)
        elapsed = time.perf_counter() - started
        if elapsed < 0.02:
            calls *= 2
            continue
        best, runs = min(best, elapsed / calls), runs - 1
    return best


@pytest.mark.parametrize("shape", INPUTS)
@pytest.mark.parametrize("name", ANALYSERS)
def test_analysis_takes_linear_time(name: str, shape: str) -> None:
    fn, make = ANALYSERS[name], INPUTS[shape]
    fn(make(SMALL))  # warm-up: compiled rule tables
    ratios = []
    for _ in range(3):  # a busy neighbour can slow one measurement; a quadratic pattern loses every time
        small = _best_of(fn, make(SMALL))
        large = _best_of(fn, make(LARGE))
        ratios.append(large / small)
        if ratios[-1] < 8:
            return
    pytest.fail(f"{name} on {shape}: 4x the text took {min(ratios):.1f}x the time (quadratic is 16x)")


def test_analysis_reads_a_bounded_prefix() -> None:
    assert analysed("x" * 100_000) == "x" * ANALYSED_CHARS
    assert len(analysed("x" * 10_000, "sms")) == 1600
    assert len(analysed("x" * 10_000, "whatsapp")) == 4096
    assert analysed("short", "sms") == "short"
    # What lies past the bound is not read: a 200k-character word costs what the bound costs.
    huge, bound = "a" * 200_000, "a" * ANALYSED_CHARS
    assert language_scores(huge) == language_scores(bound)
    assert _best_of(language_scores, huge) < 3 * _best_of(language_scores, bound) + 0.01


def test_the_linear_patterns_find_what_the_old_ones_found() -> None:
    assert language_scores("we are looking and thinking")["en"] == language_scores("we are looking and thinking ")["en"]
    assert detect_language("booking meeting ringing") == "en"  # three words ending in -ing
    assert language_scores("ing")["en"] == 0  # "ing" alone is no -ing word
    amount = next(rule for category, rule in compiled_budget_rules() if category == "mentioned_amount")
    for text, found in [
        ("we have 5,000 dollars", "5,000 dollars"),
        ("ok,500 dollars", "500 dollars"),
        ("about 10k usd", "10k usd"),
        ("presupuesto de 3.000 pesos", "presupuesto de 3.000"),
        ("$1,200 per month", "$1,200"),
    ]:
        match = next((p.search(text) for _, p in amount.patterns if p.search(text)), None)
        assert match is not None and match.group(0).strip(" ,") == found, (text, match)
    assert qualify("our budget is 20k dollars").budget == "mentioned_amount"
    # Links and addresses are still taken out before numbers are compared.
    assert invented_fact_problem("see acme.com or write to a.b@c.io", "") is None
    assert invented_fact_problem("call 555 1234 or visit more...shop2go.com", "") is not None
    assert invented_fact_problem("visit more...shop2go.com", "") is None


def test_control_characters() -> None:
    assert strip_controls("a\x00b\x1bc\x7f\td\r\ne") == "abc\td\r\ne"
    assert control_problem("fine\ttext\n", multiline=True) is None
    assert control_problem("one\nline", multiline=False) == "contains the control character U+000A at position 3"
    assert control_problem("nul\x00", multiline=True) == "contains the control character U+0000 at position 3"
    assert control_problem("café ☕ 🙂", multiline=False) is None
