"""Printing conversations and summaries for people."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nudge.sim.audit import Violation
from nudge.sim.report import Summary

CHANNEL_LABEL = {"whatsapp": "WhatsApp", "sms": "SMS", "email": "Email"}
COMPOSER_LABEL = {"template": "phrasebook", "llm": "LLM", "human": "person"}


def _when(at: str, start: datetime) -> str:
    moment = datetime.fromisoformat(at)
    delta = moment - start
    return f"day {delta.days:>2} {moment:%H:%M}"


def _line(console: Console, markup: str) -> None:
    """One line per message or decision. On a terminal rich wraps it to the width; in a pipe (a file,
    a CI log) there is no width to know, so the line goes out whole for the reader to wrap: cut at
    an assumed 80 columns, a message's head and its words ended up on separate lines."""
    console.print(markup, soft_wrap=not console.is_terminal)


def print_conversation(console: Console, timeline: dict[str, Any], start: datetime) -> None:
    title = (
        f"[bold]{escape(timeline['name'] or timeline['lead_id'])}[/]  ·  {timeline['language']}  ·  "
        f"{timeline['source']}  ·  ends [bold]{timeline['stage']}[/] (score {timeline['score']})"
    )
    if console.is_terminal:
        console.rule(title)
    else:
        _line(console, f"── {title} ──")
    items = [("m", m["at"], m) for m in timeline["messages"]] + [("d", d["at"], d) for d in timeline["decisions"]]
    for kind, at, item in sorted(items, key=lambda x: (x[1], x[0] == "d")):
        when = _when(at, start)
        if kind == "d":
            touch = f"touch {item['touch']} " if item["touch"] else ""
            _line(console, f"  [dim]{when}  · {touch}{item['kind'].replace('_', ' ')}: {escape(item['detail'])}[/]")
            continue
        channel = CHANNEL_LABEL.get(item["channel"], item["channel"])
        text = escape(item["text"].replace("\n", " "))  # the lead's words are not rich markup
        if item["direction"] == "in":
            _line(console, f"  {when}  [cyan]← lead ({channel})[/]  {text}")
            continue
        source = (
            "approved template" if item.get("template_sid") else COMPOSER_LABEL.get(item["composer"], item["composer"])
        )
        if item.get("llm_fallback"):
            source += " (LLM draft not used)"
        tags = [f"touch {item['touch']}" if item["touch"] else "reply", source]
        if item.get("sms_segments"):
            tags.append(f"{item['sms_segments']} segment{'s' if item['sms_segments'] > 1 else ''}")
        if item["author"] == "rep":
            tags = ["rep"]
        note = f"  [dim](channel: {escape(item['channel_note'])})[/]" if item.get("channel_note") else ""
        _line(console, f"  {when}  [green]→ {channel}[/] [dim]\\[{' · '.join(tags)}][/]  {text}{note}")


def composer_counts(timelines: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Outbound messages by who wrote them: LLM, phrasebook, approved template, person."""
    counts = {"LLM": 0, "phrasebook": 0, "approved template": 0, "person": 0, "LLM draft not used": 0}
    for timeline in timelines:
        for item in timeline["messages"]:
            if item["direction"] != "out":
                continue
            if item.get("template_sid"):
                counts["approved template"] += 1
            else:
                counts[COMPOSER_LABEL.get(item["composer"], "phrasebook")] += 1
            counts["LLM draft not used"] += 1 if item.get("llm_fallback") else 0
    return counts


def print_composers(console: Console, timelines: Sequence[dict[str, Any]], llm: str | None) -> None:
    counts = composer_counts(timelines)
    written = ", ".join(f"{label} {count}" for label, count in counts.items() if label != "LLM draft not used")
    console.print(f"Messages written by: {written}")
    if llm:
        console.print(
            f"LLM {llm}: {counts['LLM draft not used']} draft(s) failed a guardrail, timed out or errored; "
            "the phrasebook wrote those messages instead"
        )


def print_summary(console: Console, summary: Summary, violations: Sequence[Violation]) -> None:
    table = Table(title="Touches sent", show_lines=False)
    table.add_column("touch", justify="right")
    channels = sorted({c for _, c in summary.touches})
    for channel in channels:
        table.add_column(CHANNEL_LABEL.get(channel, channel), justify="right")
    table.add_column("total", justify="right")
    for touch in sorted({t for t, _ in summary.touches}):
        row = [summary.touches.get((touch, c), 0) for c in channels]
        table.add_row(str(touch), *[str(n) for n in row], str(sum(row)))
    console.print(table)
    outcome = Table(title="Outcomes")
    outcome.add_column("measure")
    outcome.add_column("value", justify="right")
    for label, value in (
        ("leads", summary.leads),
        ("replied", summary.replied),
        ("escalated to a rep", summary.escalated),
        ("opted out", summary.opted_out),
        ("converted", summary.converted),
        ("went cold", summary.went_cold),
        ("recovered after going cold", summary.recovered),
        ("recovery rate", f"{summary.recovery_rate:.1%}"),
        ("touches held (quiet hours / daily cap)", summary.held),
    ):
        outcome.add_row(label, str(value))
    for reason, count in summary.skipped.most_common():
        outcome.add_row(f"skipped: {reason}", str(count))
    console.print(outcome)
    if summary.passed_over:
        cascade = Table(title="Channel cascade")
        cascade.add_column("touch", justify="right")
        cascade.add_column("passed over before the channel used (why)")
        cascade.add_column("times", justify="right")
        for (touch, reason), count in sorted(summary.passed_over.items(), key=lambda x: (x[0][0], -x[1]))[:20]:
            cascade.add_row(str(touch), reason, str(count))
        console.print(cascade)
    stages = ", ".join(f"{stage} {count}" for stage, count in summary.stages.most_common())
    console.print(f"Final stages: {stages}")
    if violations:
        console.print(f"[bold red]Policy audit: {len(violations)} violation(s)[/]")
        for violation in violations[:20]:
            console.print(f"  {violation.rule}: lead {violation.lead_id}: {violation.detail}")
    else:
        console.print(
            "[bold green]Policy audit: 0 violations[/] (no repeats, no quiet-hour sends, "
            "nothing after opt-out, no two follow-ups in a day, no touch without its value, "
            "none to a won, lost, escalated or finished lead)"
        )
