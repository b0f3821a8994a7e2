"""Ingestion: JSON, JSONL, CSV, Markdown; row errors with file and line; whole-file rejections."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge.ingest import (
    ImportRejected,
    IngestError,
    import_files,
    parse_bytes,
    parse_file,
    parse_records,
)
from knowledge.store import KnowledgeStore

Business = Callable[[str], str]

GOOD = {"title": "Sonrisa Dental", "industry": "dental", "body": "A dental clinic booked 40% more consultations."}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_json_object_and_list(tmp_path: Path) -> None:
    one = parse_file(write(tmp_path / "one.json", json.dumps(GOOD)))
    assert [s.title for s in one.studies] == ["Sonrisa Dental"] and not one.errors
    many = [GOOD, {**GOOD, "title": "Second", "metrics": {"leads": 120}, "tags": ["a", "b"], "language": "en"}]
    result = parse_file(write(tmp_path / "many.json", json.dumps(many, indent=2)))
    assert [s.title for s in result.studies] == ["Sonrisa Dental", "Second"]
    assert result.studies[1].metrics == {"leads": 120}
    assert [o.line for o in result.origins] == [2, 7]


def test_json_bad_row_is_reported_with_file_and_line_and_the_rest_load(tmp_path: Path) -> None:
    rows = [GOOD, {**GOOD, "title": "Bad", "body": "  "}, {**GOOD, "title": "Third"}]
    path = write(tmp_path / "cases.json", json.dumps(rows, indent=2))
    result = parse_file(path)
    assert [s.title for s in result.studies] == ["Sonrisa Dental", "Third"]
    assert len(result.errors) == 1
    error = result.errors[0]
    assert error.file == str(path) and error.line == 7
    assert "body is empty" in error.message
    assert str(error) == f"{path}:7: body: body is empty"


def test_jsonl(tmp_path: Path) -> None:
    text = "\n".join([json.dumps(GOOD), "{not json", "", json.dumps({**GOOD, "title": "Other", "author": "me"})])
    result = parse_file(write(tmp_path / "cases.jsonl", text))
    assert [s.title for s in result.studies] == ["Sonrisa Dental"]
    assert [(e.line, e.message.split(":")[0]) for e in result.errors] == [
        (2, "invalid JSON"),
        (4, "unknown field 'author' (allowed"),
    ]


def test_csv(tmp_path: Path) -> None:
    text = (
        "title,industry,body,metrics,language,url,tags\n"
        'Sonrisa Dental,dental,"A dental clinic,\nmulti-line body",+40% bookings,en,https://example.com/a,whatsapp;clinic\n'
        "Missing body,dental,,,,,\n"
        'Gym,fitness,A gym grew,"{""members"": 30}",pt,,\n'
    )
    path = write(tmp_path / "cases.csv", text)
    result = parse_file(path)
    assert [s.title for s in result.studies] == ["Sonrisa Dental", "Gym"]
    assert result.studies[0].body == "A dental clinic,\nmulti-line body"
    assert result.studies[0].tags == ["whatsapp", "clinic"]
    assert result.studies[0].metrics == "+40% bookings"
    assert result.studies[1].metrics == {"members": 30}
    assert [o.line for o in result.origins] == [2, 5]
    assert [(e.line, e.message) for e in result.errors] == [(4, "body is empty")]


def test_csv_semicolon_and_unknown_columns(tmp_path: Path) -> None:
    ok = parse_file(write(tmp_path / "semi.csv", "title;industry;body\nA;dental;Body text\n"))
    assert [s.title for s in ok.studies] == ["A"]
    with pytest.raises(IngestError, match=r"unknown columns 'author', 'date'") as info:
        parse_file(write(tmp_path / "extra.csv", "title,industry,body,author,date\nA,dental,B,me,today\n"))
    assert info.value.line == 1


def test_markdown_with_front_matter(tmp_path: Path) -> None:
    text = (
        "---\n"
        "title: Clínica Sonrisa\n"
        "industry: odontología\n"
        "metrics:\n  consultas: '+40%'\n"
        "tags: [whatsapp]\n"
        "url: https://example.com/sonrisa\n"
        "---\n\n"
        "# Clínica Sonrisa\n\nUna clínica dental de tres sillones agendó 40% más consultas.\n"
    )
    result = parse_file(write(tmp_path / "sonrisa.md", text))
    assert not result.errors
    study = result.studies[0]
    assert study.title == "Clínica Sonrisa"
    assert study.body.startswith("# Clínica Sonrisa")
    assert study.metrics == {"consultas": "+40%"}


def test_markdown_errors(tmp_path: Path) -> None:
    bad_yaml = parse_file(write(tmp_path / "bad.md", "---\ntitle: A\nindustry: [dental\n---\nbody\n"))
    assert bad_yaml.errors and bad_yaml.errors[0].line >= 2
    assert "invalid YAML" in bad_yaml.errors[0].message
    empty = parse_file(write(tmp_path / "empty.md", "---\ntitle: A\nindustry: dental\n---\n\n"))
    assert [e.message for e in empty.errors] == ["body is empty"]
    unknown = parse_file(write(tmp_path / "unknown.md", "---\ntitle: A\nindustry: dental\nauthor: me\n---\nText\n"))
    assert "unknown field 'author'" in unknown.errors[0].message
    with pytest.raises(IngestError, match="front matter"):
        parse_file(write(tmp_path / "plain.md", "# Just a document\n\nNo front matter.\n"))


def test_missing_fields_and_wrong_types(tmp_path: Path) -> None:
    rows = [{"title": "No industry", "body": "x"}, {**GOOD, "tags": 5}, {**GOOD, "language": "fr"}, "just a string"]
    result = parse_file(write(tmp_path / "bad.json", json.dumps(rows)))
    assert not result.studies
    messages = [e.message for e in result.errors]
    assert messages[0] == "missing required field: industry"
    assert messages[1].startswith("tags:")
    assert "language must be one of en, es, pt" in messages[2]
    assert messages[3].startswith("expected an object")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("cases.json", b"title,industry,body\nA,dental,B\n", "is not valid JSON"),
        ("cases.csv", json.dumps([GOOD]).encode(), "looks like JSON, not CSV"),
        ("cases.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "is a PDF document, not a CSV file"),
        ("cases.jsonl", b"PK\x03\x04\x14\x00\x00\x00", "binary archive or image"),
        ("cases.md", b"\x89PNG\r\n\x1a\n\x00\x00", "binary archive or image"),
        ("cases.csv", "título,industria\n".encode("utf-16"), "is binary"),
        ("cases.json", '[{"title": "caf\xe9"}]'.encode("latin-1"), "is not UTF-8 text"),
        ("cases.jsonl", json.dumps([GOOD], indent=2).encode(), "looks like a JSON array"),
        ("cases.csv", b"name,description\nA,B\n", "not a case-study CSV"),
        ("cases.json", b"42", "must be a case-study object or a list"),
        ("cases.json", b"[]", "empty list"),
        ("cases.txt", b"hello", "unsupported file type '.txt'"),
        ("cases.xlsx", b"PK\x03\x04", "unsupported file type '.xlsx'"),
    ],
)
def test_file_that_is_not_what_its_extension_says(name: str, content: bytes, message: str) -> None:
    with pytest.raises(IngestError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_bytes(content, filename=name)


def test_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "huge.json"
    with big.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # a 50 MB file (sparse: it is rejected before it is read)
    with pytest.raises(IngestError, match=r"is 50.0 MB, over the 10.0 MB limit"):
        parse_file(big)
    with pytest.raises(IngestError, match="over the 100 bytes limit"):
        parse_bytes(json.dumps(GOOD).encode() * 3, filename="x.json", max_bytes=100)


def test_parse_records_for_the_api() -> None:
    assert [s.title for s in parse_records(GOOD).studies] == ["Sonrisa Dental"]
    result = parse_records([GOOD, {"title": "x"}], source="POST /v1/case-studies")
    assert len(result.studies) == 1
    assert str(result.errors[0]).startswith("POST /v1/case-studies:2: missing required fields: industry, body")
    with pytest.raises(IngestError):
        parse_records("nope")


def test_import_is_idempotent_and_reports_progress(tmp_path: Path, store: KnowledgeStore, business: Business) -> None:
    biz = business("importer")
    rows = [{**GOOD, "title": f"Story {i}", "body": f"Dental clinic story number {i}."} for i in range(70)]
    rows.insert(3, {**GOOD, "title": "Broken", "body": ""})
    json_path = write(tmp_path / "cases.json", json.dumps(rows, indent=1))
    md_path = write(tmp_path / "gym.md", "---\ntitle: Gym\nindustry: fitness\n---\nUma academia cresceu.\n")
    calls: list[tuple[int, int, str]] = []

    report = import_files(store, biz, [json_path, md_path], progress=lambda d, t, s: calls.append((d, t, s)))
    assert (report.files, report.rows, report.created, report.updated, report.unchanged) == (2, 72, 71, 0, 0)
    assert [(e.file, e.line) for e in report.errors] == [(str(json_path), 17)]
    assert store.count(biz) == 71
    assert [c for c in calls if c[2] == "read"] == [(1, 2, "read"), (2, 2, "read")]
    imports = [c for c in calls if c[2] == "import"]
    assert imports[0] == (0, 71, "import") and imports[-1] == (71, 71, "import")
    assert [c[0] for c in imports] == sorted(c[0] for c in imports)

    before = {s.key: s for s in store.list(biz)}
    again = import_files(store, biz, [json_path, md_path])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 71)
    assert {s.key: s for s in store.list(biz)} == before


def test_duplicates_within_an_import(tmp_path: Path, store: KnowledgeStore, business: Business) -> None:
    biz = business("dupes")
    a = write(tmp_path / "a.jsonl", json.dumps(GOOD) + "\n" + json.dumps({**GOOD, "title": "sonrisa  DENTAL"}) + "\n")
    report = import_files(store, biz, [a])
    assert report.created == 1
    assert [(e.line, e.message.split(" (")[0]) for e in report.errors] == [(2, f"duplicate of {a}:1")]


def test_a_rejected_file_means_nothing_is_written(tmp_path: Path, store: KnowledgeStore, business: Business) -> None:
    biz = business("atomic")
    good = write(tmp_path / "good.json", json.dumps([GOOD]))
    fake = tmp_path / "report.csv"
    fake.write_bytes(b"%PDF-1.4 binary stuff")
    big = tmp_path / "big.jsonl"
    with big.open("wb") as fh:
        fh.truncate(11 * 1024 * 1024)
    with pytest.raises(ImportRejected) as info:
        import_files(store, biz, [good, fake, big, tmp_path / "missing.json"])
    messages = [str(e) for e in info.value.errors]
    assert len(messages) == 3
    assert messages[0] == f"{fake}: is a PDF document, not a CSV file"
    assert "over the 10.0 MB limit" in messages[1]
    assert "cannot be read" in messages[2]
    assert store.count(biz) == 0
    with pytest.raises(ValueError, match="no files"):
        import_files(store, biz, [])
