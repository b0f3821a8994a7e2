"""The Markov-chain removal effect on chains small enough to solve by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent.attribution import Journey, TouchPoint, attribute
from agent.attribution.markov import conversion_probability, removal_effects, transitions

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def journey(name: str, channels: list[str], converted: bool, value: float = 300.0) -> Journey:
    touches = tuple(TouchPoint(n + 1, c, T0 + timedelta(days=n)) for n, c in enumerate(channels))
    return Journey(
        name,
        touches,
        converted_at=T0 + timedelta(days=len(channels)) if converted else None,
        value={"USD": value} if converted else {},
    )


def test_removal_effect_on_a_chain_without_loops() -> None:
    # Paths: email → whatsapp → conv; whatsapp → conv; email → null.
    # START→email 2/3, START→whatsapp 1/3; email→whatsapp 1/2, email→null 1/2; whatsapp→conv 1.
    # P(conv) = 2/3·1/2·1 + 1/3·1 = 2/3.
    # Without email: only START→whatsapp→conv = 1/3, so RE(email) = 1 - (1/3)/(2/3) = 1/2.
    # Without whatsapp: nothing converts, RE(whatsapp) = 1.
    # Two conversions split 1/2 : 1 → email 2/3, whatsapp 4/3; 600 USD → 200 and 400.
    journeys = [
        journey("a", ["email", "whatsapp"], True),
        journey("b", ["whatsapp"], True),
        journey("c", ["email"], False),
    ]
    chain = transitions([([t.channel for t in j.touches], j.converted) for j in journeys])
    assert conversion_probability(chain) == pytest.approx(2 / 3)
    assert removal_effects(chain) == pytest.approx({"email": 1 / 2, "whatsapp": 1.0})
    credits = attribute(journeys, "markov").by["channel"]
    assert credits["email"].conversions == pytest.approx(2 / 3)
    assert credits["whatsapp"].conversions == pytest.approx(4 / 3)
    assert credits["email"].value["USD"] == pytest.approx(200.0)
    assert credits["whatsapp"].value["USD"] == pytest.approx(400.0)


def test_removal_effect_on_a_chain_with_a_loop() -> None:
    # Paths: E → W → E → conv; E → null; W → conv.
    # START→E 2/3, START→W 1/3; E→W 1/3, E→conv 1/3, E→null 1/3; W→E 1/2, W→conv 1/2.
    # x_E = x_W/3 + 1/3 and x_W = x_E/2 + 1/2 give x_E = 3/5, x_W = 4/5;
    # P(conv) = 2/3·3/5 + 1/3·4/5 = 2/3.
    # Without E: x_W = 1/2, P = 1/3·1/2 = 1/6, RE(E) = 1 - (1/6)/(2/3) = 3/4.
    # Without W: x_E = 1/3, P = 2/3·1/3 = 2/9, RE(W) = 1 - (2/9)/(2/3) = 2/3.
    # Sum 17/12; two conversions → E = 2·(3/4)/(17/12) = 18/17, W = 2·(2/3)/(17/12) = 16/17.
    journeys = [
        journey("a", ["email", "whatsapp", "email"], True),
        journey("b", ["email"], False),
        journey("c", ["whatsapp"], True),
    ]
    chain = transitions([([t.channel for t in j.touches], j.converted) for j in journeys])
    assert chain["email"] == pytest.approx({"whatsapp": 1 / 3, "(conversion)": 1 / 3, "(null)": 1 / 3})
    assert conversion_probability(chain) == pytest.approx(2 / 3)
    assert conversion_probability(chain, removed="email") == pytest.approx(1 / 6)
    assert conversion_probability(chain, removed="whatsapp") == pytest.approx(2 / 9)
    credits = attribute(journeys, "markov").by["channel"]
    assert credits["email"].conversions == pytest.approx(18 / 17)
    assert credits["whatsapp"].conversions == pytest.approx(16 / 17)
    assert sum(c.conversions for c in credits.values()) == pytest.approx(2.0)


def test_the_chain_can_be_built_on_any_dimension_and_still_sums_to_the_total() -> None:
    journeys = [
        journey("a", ["email", "whatsapp", "email"], True),
        journey("b", ["email"], False),
        journey("c", ["whatsapp"], True, value=50.0),
    ]
    report = attribute(journeys, "markov")
    for dimension, credits in report.by.items():
        assert sum(c.conversions for c in credits.values()) == pytest.approx(2.0), dimension
        assert sum(c.value["USD"] for c in credits.values()) == pytest.approx(350.0), dimension
