"""`nudge serve` and `nudge worker`."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated

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
) -> None:
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


def worker(log_level: LogLevelOption = None, log_format: LogFormatOption = None) -> None:
    settings = _settings(log_level, log_format)
    configure_logging(settings.log_level, settings.log_format)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with open_runtime(settings) as runtime, running_workers(
        runtime.dispatcher,
        settings.tick_seconds,
        inboxes=runtime.inboxes,
        inbox_sync_seconds=settings.imap_sync_seconds,
    ):
        log.info("worker %s running; Ctrl+C to stop", runtime.dispatcher.owner)
        stop.wait()
    log.info("worker stopped")
