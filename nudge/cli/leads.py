"""`nudge leads import FILE`: a spreadsheet or CRM export of leads into a business.

Each batch of rows commits on its own (on SQLite a transaction holds the one writer, and webhooks
must not wait for a whole file); an import that stops halfway is finished by running it again,
since rows already imported are found and left as they are.

Exit codes: 0 imported (rows with errors are listed in the report); 2 nothing done (an unreadable
file, an unknown business, bad options).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.lead_import import FIELDS, ImportOptions, ImportProblem, Summary, decode, report_csv, run_import, save
from nudge.cli.common import errors, fail, settings_or_exit
from nudge.clock import SystemClock
from nudge.db import create_db_engine, make_session_factory, transaction
from nudge.ids import new_id
from nudge.migrate import upgrade
from nudge.models import Business
from scheduler.inputs import NumberOwner

app = typer.Typer(help="Leads: bulk import from CSV or JSONL.", no_args_is_help=True)

PROGRESS_ROWS = 5_000  # files with more rows than this report progress on stderr


def _mapping(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        header, sep, name = pair.rpartition("=")
        if not sep or not header.strip():
            raise fail(f"--map {escape(repr(pair))}: write it as 'Column name=field' (fields: {', '.join(FIELDS)})")
        mapping[header.strip()] = name.strip()
    return mapping


def _start_at(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"--start-at {escape(repr(text))} is not a date-time like 2026-01-05T09:00:00-03:00") from None
    if moment.tzinfo is None:
        raise fail("--start-at needs its offset, like 2026-01-05T09:00:00-03:00 or …Z")
    return moment


@app.command("import", help="Import leads from a CSV or JSONL file (columns in en/es/pt are recognised).")
def import_leads(
    file: Annotated[Path, typer.Argument(help="A .csv (',' or ';' separated) or .jsonl file.", show_default=False)],
    business: Annotated[str, typer.Option("--business", "-b", help="The business's id (see `nudge tenant create`).")],
    fmt: Annotated[
        Literal["csv", "jsonl"] | None, typer.Option("--format", help="csv or jsonl (default: from the extension).")
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="'Column=field' over the guessed mapping (repeatable); field 'ignore' drops it."),
    ] = None,
    country: Annotated[
        str | None, typer.Option(help="Country (ISO code such as MX, BR) of numbers written without +code.")
    ] = None,
    on_duplicate: Annotated[
        Literal["skip", "update"], typer.Option(help="A lead already known by phone, email or external id.")
    ] = "skip",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row and report; write nothing.")] = False,
    start: Annotated[
        Literal["now", "at", "on-reply"],
        typer.Option(help="When new leads' sequence starts: now, at --start-at, or on-reply (their next message)."),
    ] = "now",
    start_at: Annotated[str | None, typer.Option(help="With --start at: RFC 3339 date-time.")] = None,
    source: Annotated[str, typer.Option(help="The leads' source when the file has no source column.")] = "import",
    report: Annotated[
        Path | None, typer.Option(help="Where to write the per-row error report (default: FILE.errors.csv).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON for scripts.")] = False,
) -> None:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {escape(str(file))}: {exc.strerror or exc}") from None
    kind = fmt or ("jsonl" if file.suffix.lower() in (".jsonl", ".ndjson") else "csv")
    try:
        options = ImportOptions(
            format=kind,
            mapping=_mapping(mapping or []),
            default_country=country.upper() if country else None,
            on_duplicate=on_duplicate,
            dry_run=dry_run,
            start="on_reply" if start == "on-reply" else start,
            start_at=_start_at(start_at),
            source=source,
        )
    except ImportProblem as exc:
        raise fail(escape(str(exc))) from None
    settings = settings_or_exit()
    clock = SystemClock()
    engine = create_db_engine(settings.resolved_database_url)
    try:
        upgrade(engine)
        sessions = make_session_factory(engine)
        with transaction(sessions) as session:
            found = session.get(Business, business.strip()) if business.strip() else None
            owner = NumberOwner(found.id, found.default_locale) if found is not None else None
        if owner is None:
            raise fail(f"unknown business {escape(repr(business))}; `nudge tenant create NAME` prints a new one's id")
        text = decode(raw)
        total = text.count("\n")
        show = total > PROGRESS_ROWS

        def write(step: Callable[[Session], None]) -> None:
            with transaction(sessions, business_id=owner.id) as session:
                step(session)

        def progress(row: int) -> None:
            errors.print(f"imported up to row {row:,} of about {total + 1:,}", highlight=False)

        import_id = new_id("imp")
        now = clock.now()
        try:
            summary = run_import(text, options, owner, now, import_id, write, progress=progress if show else None)
        except ImportProblem as exc:
            raise fail(escape(str(exc))) from None
        except IntegrityError:
            raise fail(
                "another import or a webhook added one of these leads meanwhile; run the same command again"
                " (the rows already imported are left as they are)"
            ) from None
        with transaction(sessions, business_id=owner.id) as session:
            save(session, owner.id, import_id, "cli", options, summary, now)
    finally:
        engine.dispose()
    report_path = _write_report(summary, report or file.with_name(file.name + ".errors.csv"))
    _print(summary, import_id, dry_run, report_path, as_json)


def _write_report(summary: Summary, path: Path) -> Path | None:
    if not summary.errors:
        return None
    rows = sorted(summary.errors, key=lambda e: e.row)
    try:
        path.write_text(report_csv({"row": e.row, "column": e.column, "message": e.message} for e in rows), "utf-8")
    except OSError as exc:
        raise fail(f"cannot write the report {escape(str(path))}: {exc.strerror or exc}") from None
    return path


def _print(summary: Summary, import_id: str, dry_run: bool, report: Path | None, as_json: bool) -> None:
    if as_json:
        document = {
            "id": import_id,
            "dry_run": dry_run,
            "rows": summary.rows,
            "created": summary.created,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "skipped": summary.skipped,
            "failed": summary.failed,
            "columns": summary.columns,
            "report": str(report) if report else None,
        }
        sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
        return
    would = "would be " if dry_run else ""
    typer.echo(
        f"{summary.rows:,} rows: {summary.created:,} {would}created, {summary.updated:,} {would}updated, "
        f"{summary.unchanged:,} unchanged, {summary.skipped:,} skipped (already known), {summary.failed:,} with errors"
        + (" — dry run, nothing written" if dry_run else "")
    )
    typer.echo("columns: " + ", ".join(f"{h} → {f}" for h, f in summary.columns.items()))
    if report is not None:
        typer.echo(f"errors by row: {report}")
