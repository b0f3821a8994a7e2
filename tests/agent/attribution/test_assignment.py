"""Experiment arms: random per lead, stable for that lead, declared and validated in the sequence."""

from __future__ import annotations

from collections import Counter

import pytest

from agent.experiments import assign, delay_for
from agent.sequence import Sequence, Touch
from agent.sequence_file import SequenceError, channel_problems, parse_sequence_text

BASE = """touches:
  - {number: 1, purpose: instant_reply, delay: 0s, channels: [whatsapp], asset: answer, follow_up: false}
  - number: 2
    purpose: soft_reminder
    delay: 1d
    channels: [email, whatsapp]
    asset: resource
"""


def touch(extra: str) -> Touch:
    sequence = parse_sequence_text(BASE + extra)
    found = sequence.touch(2)
    assert found is not None
    return found


def arm_name(lead_id: str, spec: Touch) -> str:
    arm = assign(lead_id, spec)
    assert arm is not None
    return arm.name


def test_arms_are_stable_per_lead_and_follow_the_weights_and_holdout_share() -> None:
    spec = touch("""    holdout: 0.2
    variants:
      - {name: a, weight: 3}
      - {name: b, weight: 1, channels: [whatsapp], delay: 2d}
""")
    leads = [f"lead_{n}" for n in range(20_000)]
    arms = {lead: assign(lead, spec) for lead in leads}
    assert all(assign(lead, spec) == arm for lead, arm in list(arms.items())[:500]), "not stable"
    counts = Counter(arm.name for arm in arms.values() if arm is not None)
    assert counts["holdout"] / 20_000 == pytest.approx(0.2, abs=0.015)
    assert counts["a"] / (counts["a"] + counts["b"]) == pytest.approx(0.75, abs=0.015)
    b_lead = next(lead for lead, arm in arms.items() if arm is not None and arm.name == "b")
    a_lead = next(lead for lead, arm in arms.items() if arm is not None and arm.name == "a")
    assert delay_for(b_lead, spec).days == 2 and delay_for(a_lead, spec).days == 1
    b_arm = arms[b_lead]
    assert b_arm is not None and b_arm.channels == ("whatsapp",)


def test_a_bigger_holdout_does_not_reshuffle_the_variants_of_leads_still_in_the_test() -> None:
    variants = "    variants: [{name: a}, {name: b}]\n"
    small, large = touch("    holdout: 0.1\n" + variants), touch("    holdout: 0.4\n" + variants)
    for lead in (f"lead_{n}" for n in range(2000)):
        before, after = assign(lead, small), assign(lead, large)
        assert before is not None and after is not None
        if not after.holdout:
            assert before.name == after.name


def test_touches_without_an_experiment_have_no_arm_and_arms_differ_between_experiments() -> None:
    assert assign("lead_1", touch("")) is None
    first = touch("    experiment: one\n    variants: [{name: a}, {name: b}]\n")
    second = touch("    experiment: two\n    variants: [{name: a}, {name: b}]\n")
    leads = [f"lead_{n}" for n in range(400)]
    same = sum(1 for lead in leads if assign(lead, first) == assign(lead, second))
    assert same == 0  # the experiment's name is part of the label
    names_same = sum(1 for lead in leads if arm_name(lead, first) == arm_name(lead, second))
    assert 120 < names_same < 280, "renaming the experiment should re-draw the arms"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("    variants: [{name: a}, {name: a}]\n", "touches.1.variants: two variants have the same name"),
        ("    holdout: 0.95\n", "touches.1.holdout: Input should be less than or equal to 0.9"),
        ("    variants: [{name: a, weight: 0}]\n", "touches.1.variants.0.weight: Input should be greater than 0"),
        ("    variants: [{name: a, channels: [fax]}]\n", "touches.1.variants.0.channels.0: Input should be"),
        ("    variants: [{name: 'a b'}]\n", "touches.1.variants.0.name: String should match pattern"),
    ],
)
def test_bad_experiments_are_refused_naming_the_field_and_line(extra: str, expected: str) -> None:
    with pytest.raises(SequenceError) as raised:
        parse_sequence_text(BASE + extra, "seq.yaml")
    problem = raised.value.problems[0]
    assert problem.startswith("seq.yaml:"), problem
    field, _, message = expected.partition(": ")
    assert field in problem and message in problem, problem


def test_holdout_is_refused_on_a_touch_answering_a_lead_who_is_writing() -> None:
    text = BASE.replace("follow_up: false}", "follow_up: false, holdout: 0.5}")
    with pytest.raises(SequenceError, match=r"touches\.0: .*never held out"):
        parse_sequence_text(text)


def test_a_timing_variant_may_not_jump_over_a_neighbouring_touch() -> None:
    text = (
        BASE
        + "    variants: [{name: late, delay: 5d}]\n"
        + "  - {number: 3, purpose: social_proof, delay: 3d, channels: [email], asset: case_study}\n"
    )
    with pytest.raises(
        SequenceError,
        match=r"touches\.1\.variants\.0\.delay: 5d would move touch 2 past a neighbour; keep it within 0s–3d",
    ):
        parse_sequence_text(text)


def test_a_variant_channel_the_business_cannot_send_on_is_reported() -> None:
    spec = parse_sequence_text(BASE + "    variants: [{name: a, channels: [sms]}]\n")
    assert channel_problems(spec, {"whatsapp": True, "email": True, "sms": False}) == [
        "touches.1.variants.0.channels.0: the business has no sms sender "
        "(set sms_from with PATCH /v1/business, or take sms out of this variant)"
    ]


def test_the_public_form_round_trips() -> None:
    spec = parse_sequence_text(BASE + "    holdout: 0.25\n    variants: [{name: a, delay: 36h}, {name: b}]\n")
    again = Sequence.model_validate(spec.to_public())
    assert again == spec and spec.to_public()["touches"][1]["variants"][0]["delay"] == "36h"
