"""`nudge serve` and `nudge worker`."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated

import sqlalchemy as sa
import typer
import uvicorn

from nudge.cli.common import fail, settings_or_exit
from nudge.logs import LogFormat, LogLevel, configure_logging
from nudge.runtime import open_runtime
from nudge.settings import Settings
from scheduler.service import running_workers

log = logging.getLogger("nudge")

LogLevelOption = Annotated[
    LogLevel | None,
    typer.Option(
        case_sensitive=False,
        help="Lowest level logged [env NUDGE_LOG_LEVEL; default INFO; library chatter only at DEBUG].",
        show_default=False,
    ),
]
LogFormatOption = Annotated[
    LogFormat | None,
    typer.Option(
        case_sensitive=False,
        help="text, or json: one JSON object per line [env NUDGE_LOG_FORMAT; default text].",
        show_default=False,
    ),
]


def _settings(log_level: str | None, log_format: str | None) -> Settings:
    overrides = {"NUDGE_LOG_LEVEL": log_level, "NUDGE_LOG_FORMAT": log_format}
    return settings_or_exit(**{name: value for name, value in overrides.items() if value is not None})


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="API+scheduler processes (PostgreSQL only above 1).")] = 1,
    log_level: LogLevelOption = None,
    log_format: LogFormatOption = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Sample businesses, reps and leads in a throwaway SQLite database, sandbox channels: "
            "prints keys to sign in to the console with.",
        ),
    ] = False,
) -> None:
    if demo:
        _serve_demo(host, port, log_level, log_format)
        return
    settings = _settings(log_level, log_format)
    if workers > 1 and settings.resolved_database_url.startswith("sqlite"):
        raise fail("--workers above 1 needs PostgreSQL (NUDGE_DATABASE_URL); SQLite has a single writer")
    log_config = configure_logging(settings.log_level, settings.log_format)
    log.info(
        "Nudge on http://%s:%s  (channels: %s, database: %s)",
        host,
        port,
        settings.channels,
        settings.resolved_database_url.split("@")[-1],
    )
    if workers > 1:
        uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers, log_config=log_config)
        return
    from api.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_config=log_config)


# What the demo's leads write: one hot lead (the inbox gets a handoff), one curious, one form lead.
DEMO_MESSAGES = (
    ("whatsapp", "+5511987650101", "Lia", "I want to book a demo today for my dental clinic, budget approved"),
    ("whatsapp", "+5511987650102", "Caio", "Hi, just looking at options for next year, what do you offer?"),
    ("sms", "+14155550177", "Dana", "Can someone call me today? We need more patients, budget is approved"),
)


def _serve_demo(host: str, port: int, log_level: str | None, log_format: str | None) -> None:
    """`nudge serve --demo`: the console on sample data in one command, nothing sent anywhere."""
    import tempfile
    from pathlib import Path

    from nudge.cli.common import console
    from nudge.db import transaction
    from nudge.key_admin import KeyOwner, create_key
    from nudge.models import Business, Rep
    from nudge.sim.setup import create_sample_businesses
    from scheduler.inputs import receive_message

    with tempfile.TemporaryDirectory(prefix="nudge-serve-demo-") as tmp:
        settings = settings_or_exit(
            NUDGE_DATABASE_URL=f"sqlite:///{Path(tmp) / 'nudge.db'}",
            NUDGE_DATA_DIR=tmp,
            NUDGE_CHANNELS="sandbox",
            NUDGE_PUBLIC_URL=f"http://{host}:{port}",
            **{k: v for k, v in {"NUDGE_LOG_LEVEL": log_level, "NUDGE_LOG_FORMAT": log_format}.items() if v},
        )
        log_config = configure_logging(settings.log_level, settings.log_format)
        from api.app import create_app

        with open_runtime(settings) as runtime:
            business_id = create_sample_businesses(runtime)[0]
            now = runtime.clock.now()
            with transaction(runtime.sessions, business_id=business_id) as session:
                business = session.get(Business, business_id)
                assert business is not None
                rep = session.scalars(sa.select(Rep).order_by(Rep.id)).first()
                owner = KeyOwner(business_id=business_id)
                business_key = create_key(session, owner, kind="business", now=now, label="demo").plaintext
                rep_key = (
                    create_key(session, owner, kind="rep", now=now, rep_id=rep.id, label="demo").plaintext
                    if rep
                    else None
                )
                for number, (channel, phone, name, text) in enumerate(DEMO_MESSAGES):
                    sender = business.whatsapp_from if channel == "whatsapp" else business.sms_from
                    if sender:
                        receive_message(
                            session,
                            business,
                            channel=channel,
                            phone=phone,
                            body=text,
                            provider_id=f"demo-{number}",
                            now=now,
                            profile_name=name,
                        )
                name = business.name
            console.print(
                f"[bold]Nudge demo[/]: {name} with sample reps, case studies and leads (sandbox: nothing is sent)"
            )
            console.print(f"Open [bold]http://{host}:{port}[/] and sign in with a key:")
            console.print(f"  business key: [bold green]{business_key}[/]")
            if rep_key:
                console.print(f"  rep key ({rep.name if rep else ''}): [bold green]{rep_key}[/]")
            app = create_app(runtime=runtime, run_workers=False)
            with running_workers(runtime.dispatcher, settings.tick_seconds):
                uvicorn.run(app, host=host, port=port, log_config=log_config)


def worker(log_level: LogLevelOption = None, log_format: LogFormatOption = None) -> None:
    settings = _settings(log_level, log_format)
    configure_logging(settings.log_level, settings.log_format)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with (
        open_runtime(settings) as runtime,
        running_workers(
            runtime.dispatcher,
            settings.tick_seconds,
            inboxes=runtime.inboxes,
            inbox_sync_seconds=settings.imap_sync_seconds,
        ),
    ):
        log.info("worker %s running; Ctrl+C to stop", runtime.dispatcher.owner)
        stop.wait()
    log.info("worker stopped")
