"""`nudge demo` and `nudge simulate` show the channel cascade: which channel each touch used, why
the ones before it were passed over, and the audience changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nudge.cli.main import app


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("NUDGE_CHANNELS", "NUDGE_DATABASE_URL", "NUDGE_CHROMA_URL", "NUDGE_CHROMA_PATH"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def test_demo_says_which_channel_each_touch_used_and_why(runner: CliRunner) -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "(channel: first choice; approved template (outside the 24-hour window))" in out
    assert "(channel: first choice; free text (the 24-hour window is open))" in out
    assert "(channel: passed over email: no email address" in out
    assert "→ SMS [touch 5 · phrasebook · 2 segments]" in out or "→ SMS [touch 5 · phrasebook · 1 segment]" in out
    assert "audience: added to the retargeting audience (value offer)" in out
    assert "audience: removed from the retargeting audience (converted)" in out
    assert "Channel cascade" in out


def test_simulate_reports_the_cascade_and_writes_each_touchs_reason(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    result = runner.invoke(app, ["simulate", "--leads", "12", "--days", "9", "--seed", "5", "--json", str(target)])
    assert result.exit_code == 0, result.output
    assert "Channel cascade" in result.output
    assert "email: no email address" in result.output
    data = json.loads(target.read_text())
    touches = [m for t in data["timelines"] for m in t["messages"] if m["direction"] == "out" and m["touch"]]
    assert touches and all(m["channel_note"] for m in touches), "every touch says why its channel"
    assert {p["reason"] for p in data["summary"]["passed_over"]} >= {"email: no email address"}
