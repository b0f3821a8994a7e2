"""`nudge kb import` and `nudge kb match` through the real CLI, on a fresh database and Chroma."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from knowledge.store import KnowledgeStore
from tests.nudge.conftest import Run

JSONL = "\n".join(
    json.dumps(row, ensure_ascii=False)
    for row in (
        {
            "title": "Smile Studio fills its chairs",
            "industry": "dental",
            "language": "en",
            "body": "A three-chair dental practice answered every enquiry within a minute; bookings rose 41%.",
            "metrics": {"new_patients": "+41%"},
        },
        {
            "title": "Clínica Sonríe llena su agenda",
            "industry": "Odontología",
            "body": "Una clínica dental de Monterrey respondió cada consulta en menos de un minuto.",
            "url": "https://example.com/es/sonrie",
        },
    )
)
CSV = """title,industry,body,metrics,tags
Casa Nova sells,Bienes raíces,"A brokerage answered, and sold 30% more.","{""sales"": ""+30%""}",brokerage;lisbon
Iron Gym keeps members,fitness,A gym answered trial requests the same day.,20% more members,
"""
MARKDOWN = """---
title: Escritório Lima responde em minutos
industry: advocacia
language: pt
url: https://example.com/pt/lima
tags: [law, small firm]
---
Um escritório de advocacia em Recife passou a responder cada contato em minutos.

Os novos clientes cresceram 25% em um semestre.
"""


@pytest.fixture
def business(run: Run) -> str:
    result = run("tenant", "create", "Bright Smile", "--json")
    assert result.exit_code == 0, result.output
    business_id: str = json.loads(result.stdout)["business_id"]
    return business_id


@pytest.fixture
def store(tmp_path: Path) -> Callable[[str], int]:
    """How many case studies a business has, read straight from the Chroma the CLI wrote."""

    def count(business_id: str) -> int:
        return KnowledgeStore(path=tmp_path / "chroma").count(business_id)

    return count


def _write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return name


def _json(result: Result) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_import_jsonl_csv_and_markdown_then_reimport_changes_nothing(
    run: Run, business: str, tmp_path: Path, store: Callable[[str], int]
) -> None:
    files = [
        _write(tmp_path, "studies.jsonl", JSONL),
        _write(tmp_path, "studies.csv", CSV),
        _write(tmp_path, "lima.md", MARKDOWN),
    ]
    first = run("kb", "import", *files, "--business", business, "--json")
    assert first.exit_code == 0, first.output
    report = _json(first)
    assert (report["files"], report["rows"], report["created"], report["updated"], report["unchanged"]) == (
        3,
        5,
        5,
        0,
        0,
    )
    assert report["errors"] == [] and len(report["ids"]) == 5
    assert store(business) == 5

    again = run("kb", "import", *files, "--business", business)
    assert again.exit_code == 0, again.output
    assert "0 created, 0 updated, 5 unchanged" in again.stdout
    assert store(business) == 5

    lawyer = _json(run("kb", "match", "Sou advogado e perco clientes", "-b", business, "--json"))
    assert lawyer["industry"]["industry"] == "legal"
    assert lawyer["case_study"]["title"] == "Escritório Lima responde em minutos"
    assert lawyer["case_study"]["tags"] == ["law", "small firm"]


def test_bad_rows_are_listed_with_file_and_line_and_the_rest_load(
    run: Run, business: str, tmp_path: Path, store: Callable[[str], int]
) -> None:
    lines = JSONL.splitlines()
    jsonl = "\n".join(
        [
            lines[0],
            '{"title": "Bad", "industry": "dental", "body": "x", "colour": "red"}',
            '{"title": "Broken", ',
            "",
            lines[1],
            '{"title": "Empty", "industry": "dental", "body": ""}',
        ]
    )
    csv = CSV + "No body here,dental,,,\n"
    files = [_write(tmp_path, "mixed.jsonl", jsonl), _write(tmp_path, "mixed.csv", csv)]
    result = run("kb", "import", *files, "--business", business)
    assert result.exit_code == 1, "imported, but rows were skipped"
    out = result.stdout
    assert "4 created, 0 updated, 0 unchanged" in out, out
    assert "4 row(s) skipped" in out
    assert "mixed.jsonl:2: unknown field 'colour'" in out
    assert "mixed.jsonl:3: invalid JSON" in out
    assert "mixed.jsonl:6: body is empty" in out
    assert "mixed.csv:4: body is empty" in out
    assert "Traceback" not in result.output
    assert store(business) == 4

    as_json = _json(run("kb", "import", *files, "--business", business, "--json"))
    assert as_json["unchanged"] == 4 and as_json["skipped"] == 4
    assert [(e["file"], e["line"]) for e in as_json["errors"]] == [
        ("mixed.csv", 4),
        ("mixed.jsonl", 2),
        ("mixed.jsonl", 3),
        ("mixed.jsonl", 6),
    ]


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("fake.csv", '[{"title": "T", "industry": "dental", "body": "b"}]', "looks like JSON, not CSV"),
        ("fake.json", CSV, "is not valid JSON"),
        ("fake.jsonl", CSV, "not a JSON Lines file"),
        ("fake.md", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "is a PDF document"),
        ("fake.csv", b"PK\x03\x04\x14\x00\x06\x00", "binary archive"),
        ("latin1.jsonl", '{"title": "Café", "industry": "dental", "body": "b"}'.encode("latin-1"), "not UTF-8"),
        ("notes.txt", "hello", "unsupported file type"),
    ],
)
def test_a_file_that_is_not_what_its_extension_says_is_rejected_and_nothing_is_written(
    run: Run, business: str, tmp_path: Path, store: Callable[[str], int], name: str, content: str | bytes, needle: str
) -> None:
    good = _write(tmp_path, "good.jsonl", JSONL)
    bad = _write(tmp_path, name, content)
    result = run("kb", "import", good, bad, "--business", business)
    assert result.exit_code == 2, result.output
    assert f"{name}" in result.stderr and needle in result.stderr, result.stderr
    assert "nothing was imported" in result.stderr
    assert "Traceback" not in result.output
    assert store(business) == 0, "the good file in the same import was not written either"

    as_json = run("kb", "import", good, bad, "--business", business, "--json")
    assert as_json.exit_code == 2
    assert _json(as_json)["rejected"][0]["file"] == name and _json(as_json)["imported"] is False


def test_a_long_import_runs_through_the_progress_bar(
    run: Run, business: str, tmp_path: Path, store: Callable[[str], int]
) -> None:
    rows = ["title,industry,body"] + [
        f"Clinic {i},dental,Dental clinic number {i} booked more patients." for i in range(300)
    ]
    name = _write(tmp_path, "many.csv", "\n".join(rows) + "\n")
    result = run("kb", "import", name, "-b", business, "--json")
    assert result.exit_code == 0, result.output
    assert _json(result)["created"] == 300
    assert store(business) == 300


def test_unknown_business_and_bad_options_fail_readably(run: Run, tmp_path: Path) -> None:
    name = _write(tmp_path, "good.jsonl", JSONL)
    for args in (
        ("kb", "import", name, "--business", "biz_nope"),
        ("kb", "match", "dentist", "--business", "biz_nope"),
        ("kb", "match", "dentist", "--business", ""),
    ):
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "unknown business" in result.stderr
        assert "Traceback" not in result.output
    missing = run("kb", "import", "nope.jsonl", "--business", "biz_nope")
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_match_prints_industry_case_study_and_score_or_why_not(run: Run, business: str, tmp_path: Path) -> None:
    assert run("kb", "import", _write(tmp_path, "s.jsonl", JSONL), "-b", business).exit_code == 0

    shown = run("kb", "match", "Hola, tengo un consultorio de ortodoncia", "--business", business, "--language", "es")
    assert shown.exit_code == 0, shown.output
    assert "Language: es" in shown.stdout and "(detected)" not in shown.stdout
    assert "Industry: dental" in shown.stdout
    assert "Case study: Clínica Sonríe llena su agenda" in shown.stdout
    assert "Score: 0." in shown.stdout

    as_json = _json(
        run("kb", "match", "Hola, necesito más pacientes para mi consultorio de ortodoncia", "-b", business, "--json")
    )
    assert as_json["language"] == "es" and as_json["language_detected"] is True
    assert as_json["industry"]["industry"] == "dental" and as_json["case_study"]["language"] == "es"
    assert 0 < as_json["score"] <= 1 and as_json["reason"] == "matched"

    none = run("kb", "match", "how much is it?", "-b", business)
    assert none.exit_code == 0
    assert "no match" in none.stdout and "no confident industry" in none.stdout
    none_json = _json(run("kb", "match", "how much is it?", "-b", business, "--json"))
    assert none_json["case_study"] is None and none_json["score"] is None

    bad_language = run("kb", "match", "dentist", "-b", business, "--language", "fr")
    assert bad_language.exit_code == 2 and "--language must be one of en, es, pt" in bad_language.stderr
    empty = run("kb", "match", "  ", "-b", business)
    assert empty.exit_code == 2 and "empty" in empty.stderr


def test_the_installed_nudge_command_rejects_a_mislabelled_file(tmp_path: Path) -> None:
    """The real entry point in a subprocess: exit 2, a readable message, no traceback."""
    nudge = Path(sys.executable).with_name("nudge")
    env = {
        **os.environ,
        "NUDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'nudge.db'}",
        "NUDGE_DATA_DIR": str(tmp_path),
    }
    env.pop("NUDGE_CHROMA_URL", None)
    created = subprocess.run(
        [str(nudge), "tenant", "create", "Acme", "--json"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert created.returncode == 0, created.stderr
    business_id = json.loads(created.stdout)["business_id"]
    _write(tmp_path, "fake.csv", '{"title": "T", "industry": "dental", "body": "b"}\n')
    result = subprocess.run(
        [str(nudge), "kb", "import", "fake.csv", "--business", business_id],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "fake.csv:1: looks like JSON, not CSV" in result.stderr
    assert "Traceback" not in result.stderr
