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

from nudge.cli.common import console, fail
from nudge.cli.render import print_summary
from nudge.db import transaction
from nudge.sim.audit import audit
from nudge.sim.engine import Simulation
from nudge.sim.report import summarise
from nudge.sim.setup import create_sample_businesses, populate, simulation_runtime
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
) -> None:
    if json_file is not None and not json_file.parent.exists():
        raise fail(f"folder {json_file.parent} does not exist")
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="nudge-sim-") as tmp,
        simulation_runtime(Path(tmp), seed=seed) as (runtime, clock),
    ):
        sim = Simulation(runtime, clock, random.Random(seed))
        businesses = create_sample_businesses(runtime)
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
            violations = audit(session)
            lines = timelines(session, start) if json_file is not None else []
    elapsed = time.perf_counter() - started
    console.print(f"{leads} leads over {days:g} virtual days (seed {seed}) in {elapsed:.1f} s")
    print_summary(console, summary, violations)
    if json_file is not None:
        json_file.write_text(
            json.dumps(
                {
                    "seed": seed,
                    "leads": leads,
                    "days": days,
                    "summary": summary.to_dict(),
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
