"""Shared fixtures: databases (SQLite and PostgreSQL), a runtime, the API on a real port, Twilio.

Everything is real except the outside world: the Twilio stand-in speaks HTTP to the real
`twilio` client, and the API runs under uvicorn.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from api.app import create_app
from nudge.db import transaction
from nudge.runtime import Runtime, open_runtime
from nudge.settings import Settings
from nudge.tenants import create_business
from scheduler.service import running_workers
from tests.support.server_thread import ServerThread
from tests.support.twilio_stub import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, TwilioStub

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_available() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=2):
            return None
    except psycopg.OperationalError as exc:
        return f"PostgreSQL at 127.0.0.1:5432 (database test) is not reachable: {exc}"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A throwaway schema; the URL's search_path puts every table (ours and LangGraph's) in it."""
    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nudge.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nudge.db'}"


def make_settings(database_url: str, tmp_path: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "NUDGE_DATABASE_URL": database_url,
        "NUDGE_DATA_DIR": str(tmp_path),
        "NUDGE_CHANNELS": "sandbox",
        "NUDGE_PUBLIC_URL": "http://nudge.test",
        "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
        "NUDGE_TICK_SECONDS": 0.2,
        # The stand-ins that receive rep and audience webhooks listen on 127.0.0.1.
        "NUDGE_ALLOW_PRIVATE_WEBHOOKS": True,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)


class _LateApp:
    """Lets the server bind its port before the app exists (the app needs its own public URL)."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


@dataclass
class LiveNudge:
    runtime: Runtime
    url: str
    client: httpx.Client
    twilio: TwilioStub | None

    def business(self, name: str = "Acme", **fields: Any) -> tuple[str, str]:
        """Create a business; returns (business id, API key)."""
        with transaction(self.runtime.sessions) as session:
            created = create_business(session, name=name, now=self.runtime.clock.now(), fields=fields)
            return created.business.id, created.api_key

    def auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}


@contextmanager
def live_nudge(
    database_url: str, tmp_path: Path, *, twilio: bool = True, workers: bool = True, **settings_extra: Any
) -> Iterator[LiveNudge]:
    """Nudge's API under uvicorn on a free port, its workers running, optionally live Twilio channels
    pointed at a local Twilio stand-in."""
    late = _LateApp()
    with (
        ServerThread(late, name="nudge-api") as server,
        TwilioStub(status_mode="off") if twilio else _nothing() as stub,
    ):
        extra: dict[str, Any] = {"NUDGE_PUBLIC_URL": server.url, **settings_extra}
        if stub is not None:
            extra.update(NUDGE_CHANNELS="live", NUDGE_TWILIO_API_URL=stub.url)
            extra.setdefault("NUDGE_SMTP_URL", "smtp://127.0.0.1:1")
        settings = make_settings(database_url, tmp_path, **extra)
        with open_runtime(settings) as runtime:
            late.app = create_app(runtime=runtime, run_workers=False)
            context = (
                running_workers(
                    runtime.dispatcher,
                    settings.tick_seconds,
                    inboxes=runtime.inboxes,
                    inbox_sync_seconds=settings.imap_sync_seconds,
                )
                if workers
                else _nothing()
            )
            with context, httpx.Client(base_url=server.url, timeout=10) as client:
                yield LiveNudge(runtime=runtime, url=server.url, client=client, twilio=stub)


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


@pytest.fixture
def live(sqlite_url: str, tmp_path: Path) -> Iterator[LiveNudge]:
    with live_nudge(sqlite_url, tmp_path) as nudge:
        yield nudge


@pytest.fixture
def live_any_db(any_database_url: str, tmp_path: Path) -> Iterator[LiveNudge]:
    with live_nudge(any_database_url, tmp_path) as nudge:
        yield nudge
