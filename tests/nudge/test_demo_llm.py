"""`nudge demo` says which messages the LLM wrote and which the templates did; with no endpoint it
runs on templates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nudge.cli.main import app
from tests.support.openai_stub import OpenAIStub, good

LLM_VARIABLES = ("OPENAI_BASE_URL", "OPENAI_API_KEY", "NUDGE_LLM_MODEL")


def _written_by(output: str) -> dict[str, int]:
    line = re.search(r"Messages written by: (.*)", output)
    assert line, output[-2000:]
    return {label.strip(): int(count) for label, count in re.findall(r"([a-zA-Z ]+?) (\d+)", line.group(1))}


def test_demo_with_an_endpoint_marks_the_llm_messages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    with OpenAIStub(good) as stub:
        for name, value in stub.settings().items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(app, ["demo"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output[-3000:]
    counts = _written_by(result.output)
    assert counts["LLM"] >= 5 and counts["phrasebook"] >= 1, counts  # consent confirmations stay templates
    assert re.search(r"\[touch 1 · LLM\]", result.output)
    assert "LLM stub-1 at http://127.0.0.1" in result.output
    assert "Policy audit: 0 violations" in result.output
    assert len([c for c in stub.calls if c.schema == "DraftOut"]) >= counts["LLM"]


def test_demo_without_an_endpoint_runs_on_templates(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in LLM_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["demo"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output[-3000:]
    counts = _written_by(result.output)
    assert counts["LLM"] == 0 and counts["phrasebook"] > 0
    assert "phrasebook templates (no LLM set)" in result.output
    assert "Policy audit: 0 violations" in result.output
