"""`nudge kb import` / `nudge kb match`: a business's case studies from files, and what a lead would see.

Exit codes: 0 done; 1 imported, but some rows were skipped (each is listed with its file and
line); 2 nothing done (a file is not what its extension says, an unknown business, bad options).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from api.routes.case_studies import match_out
from knowledge.ingest import ImportRejected, ImportReport, import_files
from knowledge.service import match_text, synonyms
from knowledge.store import LANGUAGES
from nudge.cli.common import console, errors, fail, settings_or_exit
from nudge.db import transaction
from nudge.models import Business
from nudge.runtime import Runtime, open_runtime

app = typer.Typer(help="The knowledge base: case studies for social proof.", no_args_is_help=True)

BusinessOption = Annotated[str, typer.Option("--business", "-b", help="The business's id (see `nudge tenant create`).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
_STAGES = {"read": "reading files", "import": "importing case studies"}


@dataclass(frozen=True)
class BusinessInfo:
    id: str
    name: str
    default_locale: str
    extra: dict[str, list[str]] | None


@contextmanager
def _runtime_for(business_id: str) -> Iterator[tuple[Runtime, BusinessInfo]]:
    """The runtime (settings from the environment) and the business, or exit 2 if it is unknown."""
    settings = settings_or_exit()
    with open_runtime(settings) as runtime:
        with transaction(runtime.sessions) as session:
            business = session.get(Business, business_id.strip()) if business_id.strip() else None
            info = (
                BusinessInfo(business.id, business.name, business.default_locale, synonyms(business.profile))
                if business is not None
                else None
            )
        if info is None:
            raise fail(
                f"unknown business {escape(repr(business_id))}; `nudge tenant create NAME` prints a new one's id"
            )
        yield runtime, info


@contextmanager
def _progress_bar() -> Iterator[Any]:
    """A progress callback for `import_files` drawing one bar per stage (on stderr, gone when done)."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def update(done: int, total: int, stage: str) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def _report_json(info: BusinessInfo, report: ImportReport) -> dict[str, Any]:
    return {
        "business_id": info.id,
        "files": report.files,
        "rows": report.rows,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "skipped": len(report.errors),
        "errors": [{"file": e.file, "line": e.line, "message": e.message} for e in report.errors],
        "ids": list(report.ids),
    }


@app.command("import", help="Load case studies from JSON, JSON Lines, CSV or Markdown-with-front-matter files.")
def import_(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Files ending in .json, .jsonl/.ndjson, .csv or .md/.markdown.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    business: BusinessOption,
    as_json: JsonOption = False,
) -> None:
    with _runtime_for(business) as (runtime, info):
        try:
            with _progress_bar() as progress:
                report = import_files(runtime.knowledge.store, info.id, files, progress=progress, extra=info.extra)
        except ImportRejected as exc:
            if as_json:
                rejected = [{"file": e.source, "line": e.line, "message": e.message} for e in exc.errors]
                typer.echo(json.dumps({"business_id": info.id, "imported": False, "rejected": rejected}))
            else:
                for problem in exc.errors:
                    errors.print(f"[bold red]error:[/] {escape(str(problem))}", soft_wrap=True)
            raise fail("nothing was imported; fix the file(s) above and run the import again") from exc
    if as_json:
        typer.echo(json.dumps(_report_json(info, report), ensure_ascii=False))
    else:
        files_word = "file" if report.files == 1 else "files"
        console.print(
            f"[bold]{escape(info.name)}[/] ({info.id}), {report.files} {files_word}: "
            f"[green]{report.created} created[/], {report.updated} updated, {report.unchanged} unchanged",
            soft_wrap=True,
        )
        if report.errors:
            console.print(f"[yellow]{len(report.errors)} row(s) skipped:[/]")
            for row in report.errors:
                console.print(f"  {escape(str(row))}", soft_wrap=True, highlight=False)
    if report.errors:
        raise typer.Exit(code=1)


@app.command("match", help="Show the industry detected in a lead's message and the case study it would get.")
def match(
    text: Annotated[str, typer.Argument(help="What the lead wrote.")],
    business: BusinessOption,
    language: Annotated[
        str | None, typer.Option("--language", "-l", help="The lead's language (en, es, pt); detected when absent.")
    ] = None,
    industry: Annotated[str | None, typer.Option(help="The industry the lead gave on a form.")] = None,
    as_json: JsonOption = False,
) -> None:
    if not text.strip():
        raise fail("the text is empty; pass what the lead wrote")
    lang = language.strip().lower() if language else None
    if lang is not None and lang not in LANGUAGES:
        raise fail(f"--language must be one of {', '.join(LANGUAGES)} (got {escape(repr(language))})")
    with _runtime_for(business) as (runtime, info):
        result, resolved = match_text(
            runtime.knowledge.store,
            info.id,
            text,
            language=lang,
            default_language=info.default_locale,
            industry=industry,
            extra=info.extra,
        )
    out = match_out(result, resolved, detected=lang is None)
    if as_json:
        typer.echo(out.model_dump_json(indent=2))
        return
    detected = " (detected)" if out.language_detected else ""
    console.print(f"Language: {out.language}{detected}")
    found_industry = out.industry.industry
    if found_industry is None:
        console.print(f"Industry: [yellow]none[/] (confidence {out.industry.confidence:.2f})")
    else:
        console.print(f"Industry: [bold]{escape(found_industry)}[/] (confidence {out.industry.confidence:.2f})")
    for line in out.industry.evidence:
        console.print(f"  [dim]{escape(line)}[/]", soft_wrap=True, highlight=False)
    study = out.case_study
    if study is None:
        console.print(f"Case study: [yellow]no match[/]: {escape(out.reason)}", soft_wrap=True)
        return
    console.print(
        f"Case study: [bold]{escape(study.title)}[/] ({study.id}; {escape(study.industry)}, {study.language})",
        soft_wrap=True,
    )
    if study.url:
        console.print(f"  {escape(study.url)}", soft_wrap=True, highlight=False)
    same = "same language" if out.language_match else "other language"
    console.print(f"Score: [bold]{out.score:.2f}[/] (similarity {out.similarity:.2f}, {same})")
