"""`nudge simulate` ends with the reports, and runs a sequence file so two can be compared."""

from __future__ import annotations

import json
from pathlib import Path
from xml.dom import minidom

from tests.nudge.conftest import Run

SEQUENCE = """name: short-with-test
touches:
  - {number: 1, purpose: instant_reply, delay: 0s, channels: [whatsapp, sms, email], asset: answer, follow_up: false}
  - {number: 2, purpose: qualification, delay: 3m, channels: [whatsapp, sms, email], asset: question, follow_up: false}
  - number: 3
    purpose: value_offer
    delay: 1d
    channels: [email, sms]
    asset: offer
    holdout: 0.25
    variants: [{name: email_first}, {name: sms_first, channels: [sms, email]}]
  - {number: 4, purpose: breakup, delay: 3d, channels: [whatsapp, sms], asset: question}
"""


def test_simulate_ends_with_funnel_attribution_and_experiment_reports(run: Run, tmp_path: Path) -> None:
    sequence = tmp_path / "short.yaml"
    sequence.write_text(SEQUENCE)
    charts = tmp_path / "charts"
    charts.mkdir()
    out = tmp_path / "run.json"
    result = run(
        "simulate", "--leads", "16", "--days", "6", "--seed", "5", "--sequence", str(sequence),
        "--model", "linear", "--json", str(out), "--charts", str(charts),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Funnel per touch (16 leads)" in text and "Attribution (linear)" in text
    assert "Experiment 'touch3' on touch 3" in text

    data = json.loads(out.read_text())
    assert data["sequence"]["name"] == "short-with-test"
    assert [row["touch"] for row in data["funnel"]["touches"]] == [1, 2, 3, 4]
    [experiment] = data["funnel"]["experiments"]
    assert experiment["control"] == "holdout"
    assert sum(arm["leads"] for arm in experiment["arms"]) == data["funnel"]["touches"][2]["sent"] + next(
        arm["leads"] for arm in experiment["arms"] if arm["arm"] == "holdout"
    )
    attribution = data["attribution"]
    assert attribution["model"] == "linear"
    for credits in attribution["by"].values():
        assert abs(sum(c["conversions"] for c in credits) - attribution["total"]["conversions"]) < 1e-6
    for name in ("funnel.svg", "attribution.svg"):
        root = minidom.parse(str(charts / name)).documentElement
        assert root is not None and root.tagName == "svg"


def test_a_bad_sequence_file_is_refused_before_anything_runs(run: Run, tmp_path: Path) -> None:
    sequence = tmp_path / "bad.yaml"
    sequence.write_text(SEQUENCE.replace("holdout: 0.25", "holdout: 2"))
    result = run("simulate", "--leads", "2", "--sequence", str(sequence))
    assert result.exit_code == 2
    assert f"{sequence}:10: touches.2.holdout" in " ".join(result.output.split())
    unknown = run("simulate", "--leads", "2", "--model", "u_shaped")
    assert unknown.exit_code == 2 and "position, markov" in " ".join(unknown.output.split())


def test_a_seed_repeats_the_whole_run_and_another_seed_does_not(run: Run, tmp_path: Path) -> None:
    sequence = tmp_path / "short.yaml"
    sequence.write_text(SEQUENCE)  # an experiment too: its arms are drawn from the lead ids

    def simulate(seed: int, name: str) -> str:
        out = tmp_path / name
        args = ("--leads", "6", "--days", "3", "--seed", str(seed), "--sequence", str(sequence))
        result = run("simulate", *args, "--json", str(out))
        assert result.exit_code == 0, result.output
        return out.read_text()

    first, again, other = simulate(5, "a.json"), simulate(5, "b.json"), simulate(6, "c.json")
    assert first == again  # lead ids, wording, arms, link tokens and handoff ids: byte for byte
    timelines = json.loads(first)["timelines"]
    assert "/r/" in first and all(t["lead_id"].startswith("lead_") and len(t["lead_id"]) == 31 for t in timelines)
    assert other != first
