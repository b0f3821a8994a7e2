"""`nudge chat`: be a lead on (sandbox) WhatsApp and watch the agent answer and follow up."""

from __future__ import annotations

import random
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer

from agent.sequence import parse_duration
from nudge.cli.common import console
from nudge.db import transaction
from nudge.models import Lead, LeadActivity, Message
from nudge.runtime import Runtime
from nudge.sim.engine import Simulation
from nudge.sim.personas import Persona
from nudge.sim.setup import create_sample_businesses, simulation_runtime

HELP = (
    "Type as the lead and press Enter. Commands: [bold]/wait 24h[/] (let time pass: 90s, 5m, 3d, 2w), "
    "[bold]/status[/], [bold]/quit[/]."
)


def chat(
    phone: Annotated[str, typer.Option(help="Your (pretend) WhatsApp number.")] = "+14155550123",
    name: Annotated[str, typer.Option(help="Your WhatsApp profile name.")] = "You",
) -> None:
    console.print(f"[bold]Nudge chat[/] — sandbox WhatsApp with the sample business on a virtual clock. {HELP}")
    with (
        tempfile.TemporaryDirectory(prefix="nudge-chat-") as tmp,
        simulation_runtime(Path(tmp), seed=0, start=datetime.now(UTC).replace(microsecond=0)) as (runtime, clock),
    ):
        sim = Simulation(runtime, clock, random.Random(0))
        business_id = create_sample_businesses(runtime)[0]
        me = sim.add_lead(Persona(name, "en", "whatsapp", ""), business_id, arrives=None, phone=phone)
        sim.on_message = lambda m: _show(m) if m.direction == "out" else None
        start = clock.now()
        while True:
            try:
                line = console.input("[cyan]you ›[/] ").strip()
            except (EOFError, KeyboardInterrupt):
                break
            if not line:
                continue
            if line in ("/quit", "/exit"):
                break
            if line == "/status":
                _status(runtime, me.lead_id)
                continue
            if line.startswith("/wait"):
                try:
                    span = parse_duration(line.removeprefix("/wait").strip() or "1d")
                except ValueError as exc:
                    console.print(f"[red]{exc}[/]")
                    continue
                sim.run_until(clock.now() + span)
                console.print(f"[dim]… {span} later (day {(clock.now() - start).days})[/]")
                continue
            sim.lead_says(me, line)
            sim.run_until(clock.now())
    console.print("bye")


def _show(message: Message) -> None:
    touch = f"touch {message.touch}" if message.touch else "reply"
    console.print(f"[green]nudge ›[/] [dim]\\[{message.channel} · {touch}][/] {message.body}")


def _status(runtime: Runtime, lead_id: str | None) -> None:
    if lead_id is None:
        console.print("[dim]say something first[/]")
        return
    with transaction(runtime.sessions) as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        console.print(
            f"stage [bold]{lead.stage}[/], score {lead.score}, next touch {lead.next_touch} "
            f"at {lead.next_due_at:%Y-%m-%d %H:%M} UTC"
            if lead.next_due_at
            else f"stage [bold]{lead.stage}[/], score {lead.score}, no touch planned"
        )
        last = session.scalars(
            sa.select(LeadActivity).where(LeadActivity.lead_id == lead_id).order_by(LeadActivity.at.desc()).limit(3)
        )
        for act in last:
            console.print(f"  [dim]{act.kind}: {act.detail}[/]")
