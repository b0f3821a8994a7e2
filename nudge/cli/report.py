"""`nudge report attribution|funnel`: a business's reports as tables, JSON or SVG charts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer
from sqlalchemy.orm import Session

from agent.attribution import DIMENSIONS, MODELS
from agent.reports import attribution_report, funnel_report
from agent.sequence import parse_duration
from api.report_schemas import attribution_out, funnel_out
from nudge.charts import credit_chart, funnel_chart
from nudge.cli.common import console, fail, settings_or_exit
from nudge.cli.report_render import print_attribution, print_funnel
from nudge.db import TENANT_KEY, transaction
from nudge.models import Business
from nudge.runtime import open_runtime
from scheduler.dispatcher import sequence_for

app = typer.Typer(help="Attribution and funnel reports of a business.", no_args_is_help=True)

BusinessOption = Annotated[
    str | None, typer.Option("--business", "-b", help="The business's id (may be left out when there is only one).")
]
ChartOption = Annotated[
    Path | None, typer.Option("--chart", help="Also write a bar chart here (.svg).", dir_okay=False, writable=True)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the report as JSON (the API's shape).")]


def _business(session: Session, business_id: str | None) -> Business:
    if business_id:
        business = session.get(Business, business_id.strip())
        if business is None:
            raise fail(f"unknown business {business_id!r}; `nudge tenant create NAME` prints a new one's id")
        return business
    businesses = list(session.scalars(sa.select(Business).order_by(Business.created_at).limit(21)))
    if len(businesses) == 1:
        return businesses[0]
    if not businesses:
        raise fail("there is no business yet; create one with `nudge tenant create NAME`")
    listed = ", ".join(f"{b.id} ({b.name})" for b in businesses[:20])
    raise fail(f"several businesses; choose one with --business: {listed}")


def _check_chart(chart: Path | None) -> None:
    if chart is None:
        return
    if chart.suffix.lower() != ".svg":
        raise fail(f"{chart}: charts are written as SVG; name the file *.svg")
    if not chart.parent.exists():
        raise fail(f"folder {chart.parent} does not exist")


@app.command("attribution", help="Credit per touch, channel, touch × channel, case study, variant and arm.")
def attribution(
    model: Annotated[str, typer.Option("--model", "-m", help=f"One of: {', '.join(MODELS)}.")] = "markov",
    half_life: Annotated[str, typer.Option(help="time_decay: credit halves every… e.g. '7d'.")] = "7d",
    by: Annotated[
        str, typer.Option(help=f"Comma-separated dimensions to print: {', '.join(DIMENSIONS)}.")
    ] = "touch,channel,touch_channel",
    business_id: BusinessOption = None,
    chart: ChartOption = None,
    as_json: JsonOption = False,
) -> None:
    if model not in MODELS:
        raise fail(f"unknown model {model!r}; use one of {', '.join(MODELS)}")
    dimensions = [d.strip() for d in by.split(",") if d.strip()]
    unknown = [d for d in dimensions if d not in DIMENSIONS]
    if unknown or not dimensions:
        raise fail(f"unknown dimension(s) {', '.join(unknown) or '(none)'}; use {', '.join(DIMENSIONS)}")
    try:
        decay = parse_duration(half_life)
    except ValueError as exc:
        raise fail(f"--half-life: {exc}") from exc
    if decay.total_seconds() <= 0:
        raise fail("--half-life: must be longer than zero")
    _check_chart(chart)
    with open_runtime(settings_or_exit()) as runtime, transaction(runtime.sessions) as session:
        business = _business(session, business_id)
        session.info[TENANT_KEY] = business.id
        report = attribution_report(session, business.id, model, decay)
    if as_json:
        typer.echo(attribution_out(report, decay).model_dump_json(indent=2))
    else:
        print_attribution(console, report, dimensions)
    if chart is not None:
        chart.write_text(credit_chart(report))
        console.print(f"chart written to {chart}")


@app.command("funnel", help="Per touch: sent, delivered, read, replied, clicked, converted; recovery; experiments.")
def funnel(business_id: BusinessOption = None, chart: ChartOption = None, as_json: JsonOption = False) -> None:
    _check_chart(chart)
    with open_runtime(settings_or_exit()) as runtime, transaction(runtime.sessions) as session:
        business = _business(session, business_id)
        session.info[TENANT_KEY] = business.id
        sequence = sequence_for(business)
        report = funnel_report(session, business.id, sequence)
    purposes: dict[int, str] = {t.number: t.purpose for t in sequence.touches}
    if as_json:
        typer.echo(json.dumps(funnel_out(report, sequence).model_dump(mode="json"), indent=2))
    else:
        print_funnel(console, report, purposes)
    if chart is not None:
        chart.write_text(funnel_chart(report, purposes))
        console.print(f"chart written to {chart}")
