"""Fixtures for the CLI tests: `nudge …` invoked in-process on a fresh database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from nudge.cli.main import app

Run = Callable[..., Result]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Invoke `nudge ...` in-process with settings pointing at tmp_path (run from there too)."""
    monkeypatch.chdir(tmp_path)
    for name in ("NUDGE_CHROMA_URL", "NUDGE_CHROMA_PATH", "NUDGE_CHANNELS", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NUDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'nudge.db'}")
    monkeypatch.setenv("NUDGE_DATA_DIR", str(tmp_path))
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return invoke
