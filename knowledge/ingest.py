"""Load case studies from JSON, JSON Lines, CSV and Markdown-with-front-matter files.

Two kinds of problems are told apart:

- a **file** that cannot be a case-study file of its kind (binary or not UTF-8, not what its
  extension says, over the size limit, a CSV header with unknown columns, a Markdown file with no
  front matter) raises :class:`IngestError`; :func:`import_files` checks every file before it
  writes anything, so a rejected file means nothing at all was written;
- a bad **row** (unknown fields, empty body, a missing title, a line of broken JSON) becomes a
  :class:`RowError` naming its file and line, and the other rows still load.

Importing is idempotent: case studies have stable ids and unchanged ones are not rewritten.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from knowledge.industries import ExtraSynonyms
from knowledge.store import FIELDS, CaseStudy, KnowledgeStore, UpsertResult

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
REQUIRED: tuple[str, ...] = ("title", "industry", "body")
FORMATS: dict[str, str] = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".md": "markdown",
    ".markdown": "markdown",
}
IMPORT_BATCH = 64

#: progress(done, total, stage): stage is "read" (files) or "import" (case studies).
ProgressCallback = Callable[[int, int, str], None]


class IngestError(ValueError):
    """A whole file (or request) was rejected; nothing from it is imported."""

    def __init__(self, source: str, message: str, line: int | None = None) -> None:
        self.source = source
        self.line = line
        self.message = message
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")


class ImportRejected(ValueError):
    """One or more files were rejected; no file of the import was written."""

    def __init__(self, errors: Sequence[IngestError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Origin:
    file: str
    line: int


@dataclass
class ParseResult:
    studies: list[CaseStudy] = field(default_factory=list)
    origins: list[Origin] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def extend(self, other: ParseResult) -> None:
        self.studies.extend(other.studies)
        self.origins.extend(other.origins)
        self.errors.extend(other.errors)


@dataclass(frozen=True)
class ImportReport:
    files: int
    rows: int
    created: int
    updated: int
    unchanged: int
    errors: tuple[RowError, ...]
    ids: tuple[str, ...]

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged


# ----------------------------------------------------------------------------- records


def _pydantic_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def validate_record(record: object, source: str, line: int) -> CaseStudy | RowError:
    """One case study from a decoded record, or the error that names what is wrong with it."""
    if not isinstance(record, Mapping):
        kind = type(record).__name__
        return RowError(source, line, f"expected an object with fields {', '.join(REQUIRED)}, got {kind}")
    unknown = [str(k) for k in record if k not in FIELDS]
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        allowed = ", ".join(FIELDS)
        return RowError(source, line, f"unknown field{'s' if len(unknown) > 1 else ''} {names} (allowed: {allowed})")
    missing = [k for k in REQUIRED if record.get(k) in (None, "")]
    if missing:
        what = "body is empty" if missing == ["body"] and "body" in record else None
        return RowError(
            source, line, what or f"missing required field{'s' if len(missing) > 1 else ''}: " + ", ".join(missing)
        )
    try:
        return CaseStudy.model_validate(dict(record))
    except ValidationError as exc:
        return RowError(source, line, _pydantic_message(exc))


def _add(result: ParseResult, outcome: CaseStudy | RowError, source: str, line: int) -> None:
    if isinstance(outcome, RowError):
        result.errors.append(outcome)
    else:
        result.studies.append(outcome)
        result.origins.append(Origin(source, line))


def parse_records(records: object, *, source: str = "request") -> ParseResult:
    """Case studies from already-decoded JSON (one object or a list); `line` is the item number."""
    result = ParseResult()
    if isinstance(records, Mapping):
        _add(result, validate_record(records, source, 1), source, 1)
    elif isinstance(records, list):
        if not records:
            raise IngestError(source, "no case studies (empty list)")
        for index, record in enumerate(records, start=1):
            _add(result, validate_record(record, source, index), source, index)
    else:
        raise IngestError(source, "expected a case-study object or a list of them")
    return result


# ----------------------------------------------------------------------------- text


def _decode(data: bytes, source: str, fmt: str) -> str:
    head = data[:8192]
    if head.startswith(b"%PDF"):
        raise IngestError(source, f"is a PDF document, not a {fmt} file")
    if head.startswith((b"PK\x03\x04", b"\x1f\x8b", b"\x89PNG", b"\xff\xd8\xff")):
        raise IngestError(source, f"is a binary archive or image, not a {fmt} file")
    if b"\x00" in head:
        raise IngestError(source, f"is binary, not a {fmt} file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(source, f"is not UTF-8 text (byte {exc.start}); save the {fmt} file as UTF-8") from exc


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _parse_json(text: str, source: str) -> ParseResult:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestError(source, f"is not valid JSON: {exc.msg} (column {exc.colno})", exc.lineno) from exc
    if isinstance(data, Mapping):
        start = len(text) - len(text.lstrip())
        result = ParseResult()
        _add(result, validate_record(data, source, _line_of(text, start)), source, _line_of(text, start))
        return result
    if not isinstance(data, list):
        raise IngestError(source, "JSON must be a case-study object or a list of them")
    if not data:
        raise IngestError(source, "no case studies (empty list)")
    # Walk the array again with raw_decode to learn the line each element starts on.
    decoder = json.JSONDecoder()
    result = ParseResult()
    pos = text.index("[") + 1
    for record in data:
        while text[pos] in " \t\r\n,":
            pos += 1
        line = _line_of(text, pos)
        _, pos = decoder.raw_decode(text, pos)
        _add(result, validate_record(record, source, line), source, line)
    return result


def _parse_jsonl(text: str, source: str) -> ParseResult:
    result = ParseResult()
    parsed_any = False
    first = text.lstrip()[:1]
    if first == "[":
        raise IngestError(source, "looks like a JSON array, not JSON Lines (one object per line); name it .json")
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            result.errors.append(RowError(source, number, f"invalid JSON: {exc.msg} (column {exc.colno})"))
            continue
        parsed_any = True
        _add(result, validate_record(record, source, number), source, number)
    if not parsed_any:
        if result.errors:
            raise IngestError(source, "no line is a JSON object: this is not a JSON Lines file")
        raise IngestError(source, "is empty")
    return result


def _csv_delimiter(header_line: str) -> str:
    """The header's delimiter: whichever of , ; or tab splits it into the most fields."""
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _parse_csv(text: str, source: str) -> ParseResult:
    stripped = text.lstrip()
    if not stripped:
        raise IngestError(source, "is empty")
    if stripped[0] in "[{":
        raise IngestError(source, "looks like JSON, not CSV; name it .json or .jsonl", 1)
    first_line = stripped.splitlines()[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_csv_delimiter(first_line))
    try:
        header_row = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise IngestError(source, f"has no readable CSV header ({exc})", 1) from exc
    header = [h.strip().lower() for h in header_row]
    header_line = reader.line_num
    unknown = [h for h in header if h and h not in FIELDS]
    names = ", ".join(repr(h) for h in unknown)
    plural = "s" if len(unknown) > 1 else ""
    missing = [h for h in REQUIRED if h not in header]
    if missing:
        also = f"; unknown column{plural} {names}" if unknown else ""
        raise IngestError(
            source,
            f"not a case-study CSV: the header must name {', '.join(REQUIRED)} (missing {', '.join(missing)}{also})",
            header_line,
        )
    if unknown:
        raise IngestError(source, f"unknown column{plural} {names} (allowed: {', '.join(FIELDS)})", header_line)
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    if dupes:
        raise IngestError(source, f"duplicate column(s) {', '.join(dupes)}", header_line)
    result = ParseResult()
    previous = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.errors.append(RowError(source, previous + 1, f"unreadable CSV row: {exc}"))
            break
        line = previous + 1
        previous = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            result.errors.append(RowError(source, line, f"row has {len(row)} cells but the header has {len(header)}"))
            continue
        record: dict[str, Any] = {h: v for h, v in zip(header, row, strict=False) if h and v.strip()}
        metrics = record.get("metrics")
        if isinstance(metrics, str) and metrics.strip().startswith("{"):
            try:
                record["metrics"] = json.loads(metrics)
            except json.JSONDecodeError as exc:
                result.errors.append(RowError(source, line, f"metrics is not valid JSON: {exc.msg}"))
                continue
        if "body" in header and "body" not in record:
            record["body"] = ""
        _add(result, validate_record(record, source, line), source, line)
    if not result.studies and not result.errors:
        raise IngestError(source, "has a header but no rows")
    return result


def _parse_markdown(text: str, source: str) -> ParseResult:
    lines = text.splitlines()
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start >= len(lines) or lines[start].strip() != "---":
        raise IngestError(source, "a Markdown case study must start with YAML front matter between '---' lines", 1)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        raise IngestError(source, "the YAML front matter is not closed with '---'", start + 1)
    front = "\n".join(lines[start + 1 : end])
    result = ParseResult()
    line = start + 1
    try:
        meta = yaml.safe_load(front) if front.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = start + 2 + mark.line if mark is not None else line
        problem = getattr(exc, "problem", None) or str(exc)
        result.errors.append(RowError(source, at, f"invalid YAML front matter: {problem}"))
        return result
    if not isinstance(meta, dict):
        result.errors.append(RowError(source, line, "the front matter must be a mapping of fields"))
        return result
    content = "\n".join(lines[end + 1 :]).strip()
    if content:
        if "body" in meta:
            result.errors.append(RowError(source, line, "body given both in the front matter and below it"))
            return result
        meta["body"] = content
    elif "body" not in meta:
        meta["body"] = ""
    _add(result, validate_record(meta, source, line), source, line)
    return result


_PARSERS: dict[str, Callable[[str, str], ParseResult]] = {
    "json": _parse_json,
    "jsonl": _parse_jsonl,
    "csv": _parse_csv,
    "markdown": _parse_markdown,
}
_FORMAT_NAMES = {"json": "JSON", "jsonl": "JSON Lines", "csv": "CSV", "markdown": "Markdown"}


def format_for(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        kinds = ", ".join(sorted(FORMATS))
        raise IngestError(filename, f"unsupported file type {suffix or '(none)'!r}; use one of {kinds}")
    return fmt


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n} bytes"


def parse_bytes(data: bytes, *, filename: str, max_bytes: int = DEFAULT_MAX_BYTES) -> ParseResult:
    """Parse an uploaded file's content; its format comes from `filename`'s extension."""
    fmt = format_for(filename)
    if len(data) > max_bytes:
        raise IngestError(filename, f"is {_size(len(data))}, over the {_size(max_bytes)} limit")
    text = _decode(data, filename, _FORMAT_NAMES[fmt])
    return _PARSERS[fmt](text, filename)


def parse_file(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParseResult:
    """Parse one file (the size is checked before it is read)."""
    p = Path(path)
    name = str(path)
    format_for(name)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise IngestError(name, f"cannot be read: {exc.strerror or exc}") from exc
    if not p.is_file():
        raise IngestError(name, "is not a regular file")
    if size > max_bytes:
        raise IngestError(name, f"is {_size(size)}, over the {_size(max_bytes)} limit")
    with p.open("rb") as fh:
        data = fh.read(max_bytes + 1)
    return parse_bytes(data, filename=name, max_bytes=max_bytes)


# ----------------------------------------------------------------------------- import


def import_studies(
    store: KnowledgeStore,
    business_id: str,
    parsed: ParseResult,
    *,
    progress: ProgressCallback | None = None,
    extra: ExtraSynonyms | None = None,
    files: int = 0,
) -> ImportReport:
    """Upsert already-parsed case studies (deduplicated by stable id) and report what changed."""
    errors = list(parsed.errors)
    first_seen: dict[str, Origin] = {}
    unique: list[CaseStudy] = []
    for study, origin in zip(parsed.studies, parsed.origins, strict=True):
        ready = study.prepared(business_id, extra)
        if ready.key in first_seen:
            seen = first_seen[ready.key]
            errors.append(
                RowError(
                    origin.file, origin.line, f"duplicate of {seen.file}:{seen.line} (same id, or title and industry)"
                )
            )
            continue
        first_seen[ready.key] = origin
        unique.append(ready)
    total = len(unique)
    outcome = UpsertResult()
    if progress:
        progress(0, total, "import")
    for start in range(0, total, IMPORT_BATCH):
        batch = unique[start : start + IMPORT_BATCH]
        outcome = outcome + store.upsert(business_id, batch, extra=extra)
        if progress:
            progress(min(start + IMPORT_BATCH, total), total, "import")
    errors.sort(key=lambda e: (e.file, e.line))
    return ImportReport(
        files=files,
        rows=len(parsed.studies) + len(parsed.errors),
        created=outcome.created,
        updated=outcome.updated,
        unchanged=outcome.unchanged,
        errors=tuple(errors),
        ids=outcome.ids,
    )


def import_files(
    store: KnowledgeStore,
    business_id: str,
    paths: Iterable[str | Path],
    *,
    progress: ProgressCallback | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    extra: ExtraSynonyms | None = None,
) -> ImportReport:
    """Import case-study files for a business.

    Every file is read and checked first; if any is rejected, :class:`ImportRejected` is raised
    and nothing is written. Otherwise the good rows are upserted (with `progress` called after
    each batch) and the bad ones are listed in the report's `errors`.
    """
    path_list = list(paths)
    if not path_list:
        raise ValueError("no files to import")
    parsed = ParseResult()
    rejected: list[IngestError] = []
    for done, path in enumerate(path_list, start=1):
        try:
            parsed.extend(parse_file(path, max_bytes=max_bytes))
        except IngestError as exc:
            rejected.append(exc)
        if progress:
            progress(done, len(path_list), "read")
    if rejected:
        raise ImportRejected(rejected)
    return import_studies(store, business_id, parsed, progress=progress, extra=extra, files=len(path_list))
