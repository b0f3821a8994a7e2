"""Every attribution model on journeys small enough to work out by hand (the sums are in the comments)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent.attribution import MODELS, Journey, TouchPoint, attribute

DAY0 = datetime(2026, 3, 2, tzinfo=UTC)


def at(days: float) -> datetime:
    return DAY0 + timedelta(days=days)


# J1: touch 1 on WhatsApp (day 0), touch 3 by email (day 7), touch 4 on WhatsApp with case study
#     cs-dental (day 14); converted on day 14 for 1000 USD.
# J2: touch 1 by SMS (day 0); converted on day 1 for 200 EUR.
# J3: touches 1 and 3, never converted: no credit from the rule-based models.
# J4: converted without any touch: counted as unattributed, credited to nothing.
J1 = Journey(
    "l1",
    (
        TouchPoint(1, "whatsapp", at(0), variant="en.instant.1", composer="llm"),
        TouchPoint(3, "email", at(7), variant="en.soft.2", arm="touch3:short"),
        TouchPoint(4, "whatsapp", at(14), case_study="cs-dental"),
    ),
    converted_at=at(14),
    value={"USD": 1000.0},
)
J2 = Journey("l2", (TouchPoint(1, "sms", at(0), variant="en.instant.2"),), converted_at=at(1), value={"EUR": 200.0})
J3 = Journey("l3", (TouchPoint(1, "whatsapp", at(0)), TouchPoint(3, "email", at(7))))
J4 = Journey("l4", (), converted_at=at(2), value={"USD": 50.0})
JOURNEYS = [J1, J2, J3, J4]

# Expected credit per touch (conversions) and the USD share of J1's 1000:
#   first:      t1 = 1 (J1) + 1 (J2) = 2,          t3 = 0,            t4 = 0
#   last:       t1 = 1 (J2),                       t3 = 0,            t4 = 1 (J1)
#   linear:     t1 = 1/3 + 1 = 4/3,                t3 = 1/3,          t4 = 1/3
#   position:   t1 = 0.4 + 1 = 1.4,                t3 = 0.2,          t4 = 0.4
#   time_decay (half-life 7 d; J1's touches are 14, 7 and 0 days before the sale, raw weights
#               1/4, 1/2, 1 → sum 7/4 → 1/7, 2/7, 4/7; J2's single touch takes all):
#               t1 = 1/7 + 1 = 8/7,                t3 = 2/7,          t4 = 4/7
EXPECTED_TOUCH = {
    "first": {"1": 2.0, "3": 0.0, "4": 0.0},
    "last": {"1": 1.0, "3": 0.0, "4": 1.0},
    "linear": {"1": 4 / 3, "3": 1 / 3, "4": 1 / 3},
    "position": {"1": 1.4, "3": 0.2, "4": 0.4},
    "time_decay": {"1": 8 / 7, "3": 2 / 7, "4": 4 / 7},
}
# J1's share of each touch, times 1000 USD (J2's EUR goes to touch 1 under every model).
J1_SHARE = {
    "first": {"1": 1.0, "3": 0.0, "4": 0.0},
    "last": {"1": 0.0, "3": 0.0, "4": 1.0},
    "linear": {"1": 1 / 3, "3": 1 / 3, "4": 1 / 3},
    "position": {"1": 0.4, "3": 0.2, "4": 0.4},
    "time_decay": {"1": 1 / 7, "3": 2 / 7, "4": 4 / 7},
}


@pytest.mark.parametrize("model", list(EXPECTED_TOUCH))
def test_rule_based_models_credit_each_touch_as_worked_out_by_hand(model: str) -> None:
    report = attribute(JOURNEYS, model, half_life=timedelta(days=7))
    by_touch = report.by["touch"]
    assert set(by_touch) == set(EXPECTED_TOUCH[model])
    for touch, expected in EXPECTED_TOUCH[model].items():
        assert by_touch[touch].conversions == pytest.approx(expected, abs=1e-12), (model, touch)
        usd = 1000.0 * J1_SHARE[model][touch]
        assert by_touch[touch].value.get("USD", 0.0) == pytest.approx(usd, abs=1e-9), (model, touch)
    assert by_touch["1"].value["EUR"] == pytest.approx(200.0)
    assert report.unattributed == 1 and report.journeys == 4


def test_linear_credit_per_channel_case_study_variant_arm_and_composer() -> None:
    report = attribute(JOURNEYS, "linear")
    # WhatsApp had J1's touches 1 and 4 (2/3); email J1's touch 3 (1/3); SMS all of J2.
    channel = {k: c.conversions for k, c in report.by["channel"].items()}
    assert channel == pytest.approx({"whatsapp": 2 / 3, "email": 1 / 3, "sms": 1.0})
    touch_channel = {k: c.conversions for k, c in report.by["touch_channel"].items()}
    assert touch_channel == pytest.approx({"1:whatsapp": 1 / 3, "3:email": 1 / 3, "4:whatsapp": 1 / 3, "1:sms": 1.0})
    case = {k: c.conversions for k, c in report.by["case_study"].items()}
    assert case == pytest.approx({"cs-dental": 1 / 3, "(none)": 5 / 3})
    variant = {k: c.conversions for k, c in report.by["variant"].items()}
    assert variant == pytest.approx({"en.instant.1": 1 / 3, "en.soft.2": 1 / 3, "(none)": 1 / 3, "en.instant.2": 1.0})
    arm = {k: c.conversions for k, c in report.by["arm"].items()}
    assert arm == pytest.approx({"touch3:short": 1 / 3, "(none)": 5 / 3})
    composer = {k: c.conversions for k, c in report.by["composer"].items()}
    assert composer == pytest.approx({"llm": 1 / 3, "(none)": 5 / 3})


@pytest.mark.parametrize("model", MODELS)
def test_every_models_credits_add_up_to_the_total_in_every_dimension(model: str) -> None:
    report = attribute(JOURNEYS, model)
    # Two journeys with touches converted: J1 (1000 USD) and J2 (200 EUR); J4 has nothing to credit.
    assert report.total.conversions == pytest.approx(2.0)
    assert report.total.value == pytest.approx({"USD": 1000.0, "EUR": 200.0})
    for dimension, credits in report.by.items():
        assert sum(c.conversions for c in credits.values()) == pytest.approx(2.0), dimension
        for currency, total in report.total.value.items():
            assert sum(c.value.get(currency, 0.0) for c in credits.values()) == pytest.approx(total), dimension


def test_an_unknown_model_is_refused_naming_the_models() -> None:
    with pytest.raises(ValueError, match="first, last, linear, time_decay, position, markov"):
        attribute(JOURNEYS, "u_shaped")


def test_nothing_converted_means_nothing_credited() -> None:
    for model in MODELS:
        report = attribute([J3], model)
        assert report.total.conversions == 0
        assert all(c.conversions == 0 for credits in report.by.values() for c in credits.values())
