"""`nudge leads import` through the real CLI: on SQLite (and one run on PostgreSQL), the error
report, progress on stderr only for large files, idempotence, dry run, bad options."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from nudge.cli import leads as leads_cli
from nudge.db import create_db_engine
from tests.conftest import postgres_schema
from tests.nudge.conftest import Run

CSV = (
    "Nome,Celular,E-mail,Consentimento WhatsApp,Empresa\n"
    "João Silva,(11) 98765-4321,joao@example.com,sim,Padaria\n"
    "Maria,11 87,,não,\n"  # row 3: too short for a Brazilian number
    "Rita,,rita@example.com,,Ótica\n"
)


@pytest.fixture
def business(run: Run) -> str:
    result = run("tenant", "create", "Casa Nova", "--json")
    assert result.exit_code == 0, result.output
    business_id: str = json.loads(result.stdout)["business_id"]
    return business_id


def _count(tmp_path: Path, table: str) -> int:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'nudge.db'}")
    try:
        with engine.connect() as connection:
            return int(connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)
    finally:
        engine.dispose()


def test_help_names_the_options(run: Run) -> None:
    result = run("leads", "import", "--help")
    assert result.exit_code == 0
    for option in ("--business", "--map", "--country", "--on-duplicate", "--dry-run", "--start", "--report"):
        assert option in result.stdout


def test_import_reports_bad_rows_and_a_second_run_changes_nothing(run: Run, business: str, tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_text(CSV, encoding="utf-8")
    first = run("leads", "import", "leads.csv", "-b", business, "--country", "BR")
    assert first.exit_code == 0, first.output
    assert "3 rows: 2 created" in first.stdout and "1 with errors" in first.stdout
    assert first.stderr == "", "a small file imports quietly"
    report = tmp_path / "leads.csv.errors.csv"
    rows = list(csv.reader(report.open(encoding="utf-8")))
    assert rows[0] == ["row", "column", "message"] and [r[:2] for r in rows[1:]] == [["3", "Celular"]]
    assert (_count(tmp_path, "leads"), _count(tmp_path, "lead_events")) == (2, 2)

    again = run("leads", "import", "leads.csv", "-b", business, "--country", "BR", "--on-duplicate", "update", "--json")
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert (summary["created"], summary["updated"], summary["unchanged"], summary["failed"]) == (0, 0, 2, 1)
    assert summary["columns"]["Celular"] == "phone" and summary["columns"]["Empresa"] == "metadata"
    assert (_count(tmp_path, "leads"), _count(tmp_path, "lead_events"), _count(tmp_path, "lead_activity")) == (2, 2, 2)
    assert _count(tmp_path, "lead_imports") == 2


def test_dry_run_and_start_on_reply(run: Run, business: str, tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_text(CSV, encoding="utf-8")
    dry = run("leads", "import", "leads.csv", "-b", business, "--country", "BR", "--dry-run")
    assert dry.exit_code == 0 and "2 would be created" in dry.stdout and "nothing written" in dry.stdout
    assert _count(tmp_path, "leads") == 0
    quiet = run("leads", "import", "leads.csv", "-b", business, "--country", "BR", "--start", "on-reply")
    assert quiet.exit_code == 0, quiet.output
    assert (_count(tmp_path, "leads"), _count(tmp_path, "lead_events")) == (2, 0)


def test_large_files_show_progress_on_stderr(
    run: Run, business: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leads_cli, "PROGRESS_ROWS", 5)
    monkeypatch.setattr("api.lead_import.BATCH", 4)
    lines = "".join(f"lead{n}@example.com,{n}\n" for n in range(10))
    (tmp_path / "big.csv").write_text("email,external id\n" + lines, encoding="utf-8")
    result = run("leads", "import", "big.csv", "-b", business)
    assert result.exit_code == 0, result.output
    assert "imported up to row" in result.stderr and "10 rows: 10 created" in result.stdout
    assert result.stderr.count("imported up to row") == 3, "one line per batch of 4 rows"
    assert _count(tmp_path, "leads") == 10


BAD_OPTIONS = [
    (("missing.csv", "-b", "{business}"), "cannot read"),
    (("leads.csv", "-b", "biz_nope"), "unknown business"),
    (("leads.csv", "-b", "{business}", "--map", "Celular"), "Column name=field"),
    (("leads.csv", "-b", "{business}", "--map", "Celular=telefone"), "unknown field"),
    (("leads.csv", "-b", "{business}", "--map", "Fax=phone"), "no column 'Fax'"),
    (("leads.csv", "-b", "{business}", "--start", "at"), "start_at"),
    (("leads.csv", "-b", "{business}", "--start", "at", "--start-at", "2031-01-01T09:00"), "offset"),
    (("leads.csv", "-b", "{business}", "--country", "Brasil"), "two-letter"),
]


def test_bad_options_exit_2_with_a_reason_and_write_nothing(run: Run, business: str, tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_text(CSV, encoding="utf-8")
    for args, needle in BAD_OPTIONS:
        result = run("leads", "import", *(a.replace("{business}", business) for a in args))
        assert result.exit_code == 2, (args, result.output)
        assert needle in result.stderr, (args, result.stderr)
    assert _count(tmp_path, "leads") == 0


@pytest.mark.postgres
def test_import_on_postgresql(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with postgres_schema() as url:
        monkeypatch.setenv("NUDGE_DATABASE_URL", url)
        created = run("tenant", "create", "Casa Nova", "--json")
        business = json.loads(created.stdout)["business_id"]
        jsonl = '{"nome": "João", "telefone": "+55 11 98765-4321"}\n{"nome": "Ana", "telefone": "12"}\n'
        (tmp_path / "leads.jsonl").write_text(jsonl, encoding="utf-8")
        first = run("leads", "import", "leads.jsonl", "-b", business, "--json")
        again = run("leads", "import", "leads.jsonl", "-b", business, "--json")
        assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
        one, two = json.loads(first.stdout), json.loads(again.stdout)
        assert (one["created"], one["failed"], two["created"], two["skipped"], two["failed"]) == (1, 1, 0, 1, 1)
        engine = create_db_engine(url)
        try:
            with engine.connect() as connection:
                assert connection.scalar(sa.text("SELECT phone FROM leads")) == "+5511987654321"
        finally:
            engine.dispose()
