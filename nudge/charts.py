"""Bar charts as standalone SVG (no plotting dependency): the funnel and credit by touch/channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from agent.attribution import CreditReport
from agent.attribution.funnel import STAGES
from agent.reports import FunnelReport

WIDTH, LABEL_W, BAR_H, GAP, PANEL_GAP = 760, 170, 18, 6, 34
COLOURS = ("#3b6fb6", "#5aa469", "#e0a030", "#c8553d", "#7d5ba6", "#2a9d8f")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    colour: str = COLOURS[0]


@dataclass(frozen=True)
class Panel:
    title: str
    bars: Sequence[Bar]


def bar_chart(title: str, panels: Sequence[Panel]) -> str:
    """Horizontal bars, each panel scaled to its own largest value."""
    parts: list[str] = []
    y = 40
    for panel in panels:
        parts.append(f'<text x="10" y="{y}" class="panel">{escape(panel.title)}</text>')
        y += 12
        top = max((b.value for b in panel.bars), default=0.0) or 1.0
        room = WIDTH - LABEL_W - 90
        for bar in panel.bars:
            length = max(0.0, bar.value) / top * room
            parts.append(f'<text x="{LABEL_W - 8}" y="{y + BAR_H - 5}" class="label">{escape(bar.label)}</text>')
            parts.append(f'<rect x="{LABEL_W}" y="{y}" width="{length:.1f}" height="{BAR_H}" fill="{bar.colour}"/>')
            parts.append(f'<text x="{LABEL_W + length + 6:.1f}" y="{y + BAR_H - 5}">{escape(bar.text)}</text>')
            y += BAR_H + GAP
        y += PANEL_GAP
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y}" viewBox="0 0 {WIDTH} {y}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="12">'
        "<style>.title{font-size:16px;font-weight:bold}.panel{font-weight:bold}.label{text-anchor:end}</style>"
        f'<rect width="{WIDTH}" height="{y}" fill="white"/>'
        f'<text x="10" y="22" class="title">{escape(title)}</text>' + "".join(parts) + "</svg>\n"
    )


def funnel_chart(report: FunnelReport, purposes: dict[int, str]) -> str:
    panels = []
    for row in report.rows:
        sent = row.counts["sent"] or 1
        bars = [
            Bar(stage, row.counts[stage], f"{row.counts[stage]} ({row.counts[stage] / sent:.0%})", COLOURS[i])
            for i, stage in enumerate(STAGES)
        ]
        panels.append(Panel(f"touch {row.touch} · {purposes.get(row.touch, '')}", bars))
    return bar_chart(f"Funnel per touch ({report.leads} leads)", panels)


def credit_chart(report: CreditReport, dimensions: Sequence[str] = ("touch", "channel")) -> str:
    panels = []
    for index, dimension in enumerate(dimensions):
        credits = sorted(report.by.get(dimension, {}).items(), key=lambda kv: (-kv[1].conversions, kv[0]))
        bars = [Bar(key, c.conversions, f"{c.conversions:.2f}", COLOURS[index % len(COLOURS)]) for key, c in credits]
        panels.append(Panel(f"credit by {dimension.replace('_', ' × ')}", bars))
    title = f"Attribution ({report.model}): {report.total.conversions:g} conversions"
    return bar_chart(title, panels)
