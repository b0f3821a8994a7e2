"""`nudge serve` and `nudge worker`."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
import uvicorn

from nudge.cli.common import configure_logging, console, fail, settings_or_exit
from nudge.runtime import open_runtime
from scheduler.service import running_workers


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="API+scheduler processes (PostgreSQL only above 1).")] = 1,
) -> None:
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    if workers > 1 and settings.resolved_database_url.startswith("sqlite"):
        raise fail("--workers above 1 needs PostgreSQL (NUDGE_DATABASE_URL); SQLite has a single writer")
    console.print(
        f"Nudge on http://{host}:{port}  (channels: {settings.channels}, "
        f"database: {settings.resolved_database_url.split('@')[-1]})"
    )
    if workers > 1:
        uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers)
        return
    from api.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level.lower())


def worker() -> None:
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with open_runtime(settings) as runtime, running_workers(runtime.dispatcher, settings.tick_seconds):
        console.print(f"worker {runtime.dispatcher.owner} running; Ctrl+C to stop")
        stop.wait()
    console.print("worker stopped")
