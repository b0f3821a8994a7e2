"""Printing the reports as tables in the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from agent.attribution import CreditReport
from agent.attribution.funnel import STAGES
from agent.reports import FunnelReport


def _money(value: dict[str, float]) -> str:
    return ", ".join(f"{amount:,.2f} {currency}".strip() for currency, amount in sorted(value.items())) or "–"


def print_attribution(console: Console, report: CreditReport, dimensions: Sequence[str]) -> None:
    console.print(
        f"[bold]Attribution ({report.model})[/]: {report.total.conversions:g} conversions, "
        f"{_money(report.total.value)} over {report.journeys} leads"
        + (f"; {report.unattributed} conversion(s) had no touch before them" if report.unattributed else "")
    )
    for dimension in dimensions:
        table = Table(title=f"credit by {dimension.replace('_', ' × ')}")
        table.add_column(dimension)
        table.add_column("conversions", justify="right")
        table.add_column("share", justify="right")
        table.add_column("value", justify="right")
        credits = sorted(report.by.get(dimension, {}).items(), key=lambda kv: (-kv[1].conversions, kv[0]))
        for key, credit in credits:
            share = credit.conversions / report.total.conversions if report.total.conversions else 0.0
            table.add_row(key, f"{credit.conversions:.2f}", f"{share:.1%}", _money(credit.value))
        console.print(table)


def print_funnel(console: Console, report: FunnelReport, purposes: dict[int, str]) -> None:
    table = Table(title=f"Funnel per touch ({report.leads} leads)")
    table.add_column("touch", justify="right")
    table.add_column("purpose")
    for stage in STAGES:
        table.add_column(stage, justify="right")
    for row in report.rows:
        table.add_row(str(row.touch), purposes.get(row.touch, ""), *(str(row.counts[s]) for s in STAGES))
    console.print(table)
    console.print(
        f"Went cold: {report.recovery.leads}, came back: {report.recovery.recovered} "
        f"(recovery rate {report.recovery.rate:.1%}); break-up sent to {report.breakup.leads}, "
        f"{report.breakup.recovered} answered or bought after it ({report.breakup.rate:.1%})"
    )
    for experiment in report.experiments:
        table = Table(title=f"Experiment '{experiment.experiment}' on touch {experiment.touch}")
        for column in ("arm", "leads", "converted", "rate", f"lift vs {experiment.control}", "95% interval"):
            table.add_column(column, justify="left" if column == "arm" else "right")
        for arm in experiment.arms:
            lift = f"{arm.lift.difference:+.1%}" if arm.lift else "–"
            interval = f"{arm.lift.low:+.1%} … {arm.lift.high:+.1%}" if arm.lift else "–"
            table.add_row(arm.arm, str(arm.leads), str(arm.converted), f"{arm.rate:.1%}", lift, interval)
        console.print(table)
    if report.experiments:
        console.print("[dim]Interval: Newcombe hybrid score (from Wilson intervals) for a difference of rates.[/]")
