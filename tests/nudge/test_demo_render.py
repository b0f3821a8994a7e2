"""`nudge demo`'s conversations read the same in a pipe (a file, a CI log) as on a terminal: every
message line keeps its head (day, arrow, channel, touch) with its words, and nothing is cut off."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from nudge.cli.render import print_conversation

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EMAIL = (
    "Hi Dana,\n\nYou recently asked us about pricing for your three dental clinics, and I wanted to make "
    "sure you have everything you need: https://nudge.example/r/vhoIpritWIZ8QfOXuaiVFg Best regards"
)
TIMELINE: dict[str, Any] = {
    "name": "Dana Reyes",
    "lead_id": "lead_1",
    "language": "en",
    "source": "web_form",
    "stage": "nurture_complete",
    "score": 0,
    "messages": [
        {
            "at": "2026-03-02T09:00:05+00:00",
            "direction": "in",
            "channel": "whatsapp",
            "text": "Hi, I'd like pricing for our three dental clinics, all in Brooklyn, before the end of March",
        },
        {
            "at": "2026-03-03T14:00:00+00:00",
            "direction": "out",
            "channel": "email",
            "text": EMAIL,
            "composer": "template",
            "touch": 3,
            "author": "agent",
            "channel_note": "first choice",
        },
    ],
    "decisions": [
        {
            "at": "2026-03-03T13:00:00+00:00",
            "touch": 3,
            "kind": "held",
            "detail": "quiet hours in America/New_York until 09:00 local, the lead's morning",
        }
    ],
}


def _render(console: Console) -> list[str]:
    print_conversation(console, TIMELINE, START)
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue().splitlines()


def test_in_a_pipe_each_message_is_one_whole_line_whatever_the_width() -> None:
    lines = _render(Console(file=io.StringIO(), width=30))  # not a terminal; a narrow width is no excuse
    assert lines[0] == "── Dana Reyes  ·  en  ·  web_form  ·  ends nurture_complete (score 0) ──"
    assert lines[1:] == [
        "  day  0 09:00  ← lead (WhatsApp)  Hi, I'd like pricing for our three dental clinics, all in Brooklyn, "
        "before the end of March",
        "  day  1 13:00  · touch 3 held: quiet hours in America/New_York until 09:00 local, the lead's morning",
        "  day  1 14:00  → Email [touch 3 · phrasebook]  " + EMAIL.replace("\n", " ") + "  (channel: first choice)",
    ]


def test_on_a_narrow_terminal_lines_wrap_and_lose_nothing() -> None:
    lines = _render(Console(file=io.StringIO(), width=30, force_terminal=True, color_system=None))
    assert all(len(line) <= 30 for line in lines)
    shown = "".join("".join(lines[1:]).split())  # a long link is folded mid-word
    for text in (TIMELINE["messages"][0]["text"], EMAIL, TIMELINE["decisions"][0]["detail"]):
        assert "".join(text.split()) in shown


def test_a_leads_words_are_printed_as_written_not_read_as_markup() -> None:
    words = "my budget is [bold]big[/] and [/] closes nothing"
    timeline = {
        **TIMELINE,
        "name": "[red]Eve[/]",
        "messages": [{**TIMELINE["messages"][0], "text": words}],
    }
    console = Console(file=io.StringIO(), width=300, force_terminal=False)
    print_conversation(console, timeline, START)
    assert isinstance(console.file, io.StringIO)
    printed = console.file.getvalue()
    assert words in printed and "[red]Eve[/]" in printed
