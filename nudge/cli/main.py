"""The `nudge` command."""

from __future__ import annotations

import typer

from nudge.cli import chat, demo, kb, leads, report, serve, simulate, tenant

app = typer.Typer(
    name="nudge",
    help="Nudge: an AI follow-up agent for inbound sales leads.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("serve", help="Run the API and the scheduler in one process.")(serve.serve)
app.command("worker", help="Run a scheduler/dispatcher process only (scale-out).")(serve.worker)
app.command("demo", help="Run sample leads through the whole sequence on a virtual clock.")(demo.demo)
app.command("simulate", help="Synthetic leads with varied behaviour through the real system on a virtual clock.")(
    simulate.simulate
)
app.command("chat", help="Talk to the agent as a lead from the terminal (sandbox WhatsApp).")(chat.chat)
app.add_typer(tenant.app, name="tenant")
app.add_typer(kb.app, name="kb")
app.add_typer(leads.app, name="leads")
app.add_typer(report.app, name="report")

if __name__ == "__main__":  # pragma: no cover
    app()
