"""`nudge simulate`: synthetic leads through the real system on a virtual clock."""

from __future__ import annotations

import json
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from agent.attribution import MODELS
from agent.sequence import Sequence
from agent.sequence_file import SequenceError, parse_sequence_text
from api.report_schemas import attribution_out, funnel_out
from nudge.charts import credit_chart, funnel_chart
from nudge.cli.common import console, fail
from nudge.cli.render import print_summary
from nudge.cli.report_render import print_attribution, print_funnel
from nudge.db import transaction
from nudge.sim.audit import audit
from nudge.sim.engine import Simulation
from nudge.sim.report import sequence_reports, summarise
from nudge.sim.setup import create_sample_businesses, populate, simulation_runtime, use_sequence
from nudge.sim.timeline import timelines


def simulate(
    leads: Annotated[int, typer.Option(min=1, max=200_000, help="How many synthetic leads.")] = 200,
    days: Annotated[float, typer.Option(min=0.01, max=400, help="Virtual days to run.")] = 70,
    seed: Annotated[int, typer.Option(help="Same seed, same run.")] = 7,
    json_file: Annotated[
        Path | None,
        typer.Option("--json", help="Write every timeline and the audit here.", dir_okay=False, writable=True),
    ] = None,
    arrival_days: Annotated[float, typer.Option(min=0, help="Leads arrive over this many first days.")] = 5,
    sequence_file: Annotated[
        Path | None,
        typer.Option(
            "--sequence",
            help="Run this sequence (YAML/JSON, as for PUT /v1/sequence) instead of the default; "
            "run twice with the same --seed to compare two sequences.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    model: Annotated[str, typer.Option("--model", "-m", help=f"Attribution model: {', '.join(MODELS)}.")] = "markov",
    charts: Annotated[
        Path | None,
        typer.Option(help="Write funnel.svg and attribution.svg into this folder.", file_okay=False),
    ] = None,
) -> None:
    if json_file is not None and not json_file.parent.exists():
        raise fail(f"folder {json_file.parent} does not exist")
    if model not in MODELS:
        raise fail(f"unknown model {model!r}; use one of {', '.join(MODELS)}")
    if charts is not None and not charts.is_dir():
        raise fail(f"folder {charts} does not exist")
    sequence = _read_sequence(sequence_file) if sequence_file is not None else None
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="nudge-sim-") as tmp,
        simulation_runtime(Path(tmp), seed=seed) as (runtime, clock),
    ):
        sim = Simulation(runtime, clock, random.Random(seed))
        businesses = create_sample_businesses(runtime)
        if sequence is not None:
            use_sequence(runtime, businesses, sequence)
        populate(sim, businesses, leads, min(arrival_days, days))
        start = clock.now()
        end = start + timedelta(days=days)
        with Progress(
            TextColumn("[bold]simulating"),
            BarColumn(),
            TextColumn("day {task.completed:.0f}/{task.total:.0f}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("sim", total=days)
            sim.run_until(
                end, progress=lambda now: progress.update(task, completed=(now - start).total_seconds() / 86400)
            )
        with transaction(runtime.sessions) as session:
            summary = summarise(session)
            reports = sequence_reports(session, businesses, model)
            violations = audit(session)
            lines = timelines(session, start) if json_file is not None else []
    elapsed = time.perf_counter() - started
    console.print(f"{leads} leads over {days:g} virtual days (seed {seed}) in {elapsed:.1f} s")
    print_summary(console, summary, violations)
    purposes: dict[int, str] = {t.number: t.purpose for t in reports.sequence.touches}
    print_funnel(console, reports.funnel, purposes)
    print_attribution(console, reports.attribution, ("touch", "channel", "touch_channel"))
    if charts is not None:
        (charts / "funnel.svg").write_text(funnel_chart(reports.funnel, purposes))
        (charts / "attribution.svg").write_text(credit_chart(reports.attribution))
        console.print(f"charts written to {charts / 'funnel.svg'} and {charts / 'attribution.svg'}")
    if json_file is not None:
        json_file.write_text(
            json.dumps(
                {
                    "seed": seed,
                    "leads": leads,
                    "days": days,
                    "summary": summary.to_dict(),
                    "sequence": reports.sequence.to_public(),
                    "funnel": funnel_out(reports.funnel, reports.sequence).model_dump(mode="json"),
                    "attribution": attribution_out(reports.attribution, timedelta(days=7)).model_dump(mode="json"),
                    "audit": [v.__dict__ for v in violations],
                    "timelines": lines,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        console.print(f"timelines written to {json_file}")
    if violations:
        raise typer.Exit(code=1)


def _read_sequence(path: Path) -> Sequence:
    try:
        return parse_sequence_text(path.read_text(encoding="utf-8"), str(path))
    except UnicodeDecodeError as exc:
        raise fail(f"{path}: not UTF-8 text") from exc
    except SequenceError as exc:
        raise fail("\n".join(exc.problems)) from exc
