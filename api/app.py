"""The FastAPI application: built by `create_app`, never at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.routing import Route

from agent.text import document_no_controls
from api.console.assets import install_assets
from api.console.pages import install_console
from api.errors import install_error_handlers
from api.limits import BodySizeLimit, UrlControlCharacters
from api.ratelimit import RateLimiter
from api.routes import (
    booking,
    business,
    case_studies,
    connectors,
    email,
    email_inbox,
    email_providers,
    handoffs,
    health,
    keys,
    lead_import,
    leads,
    links,
    reports,
    sequence,
    twilio,
    unsubscribe,
    webhook_endpoints,
)
from nudge.runtime import Runtime, open_runtime
from nudge.settings import Settings
from scheduler.service import running_workers

DESCRIPTION = """Nudge answers inbound sales leads within seconds, qualifies them, hands hot leads to a
human rep and nurtures the rest through a 7-touch, multi-channel sequence.

Authenticate with `Authorization: Bearer <api key>`. Errors are
`{"error": {"code": "...", "message": "..."}}`."""


def create_app(
    settings: Settings | None = None, *, runtime: Runtime | None = None, run_workers: bool = True
) -> FastAPI:
    """`runtime` lets tests and the CLI share one; otherwise the app opens its own on startup."""
    settings = runtime.settings if runtime is not None else (settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with ExitStack() as stack:
            active = runtime if runtime is not None else stack.enter_context(open_runtime(settings))
            app.state.runtime = active
            if run_workers:
                workers = running_workers(
                    active.dispatcher,
                    active.settings.tick_seconds,
                    inboxes=active.inboxes,
                    inbox_sync_seconds=active.settings.imap_sync_seconds,
                )
                stack.enter_context(workers)
            yield

    # docs_url/redoc_url: FastAPI's pages load their scripts from a CDN; install_assets serves them.
    app = FastAPI(
        title="Nudge", version="0.1.0", description=DESCRIPTION, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    if runtime is not None:
        app.state.runtime = runtime  # usable even when the server runs without lifespan events
    install_error_handlers(app)
    modules = (
        health,
        leads,
        lead_import,
        business,
        sequence,
        case_studies,
        handoffs,
        keys,
        twilio,
        links,
        reports,
        unsubscribe,
        email,
        webhook_endpoints,
        connectors,
        booking,
        email_inbox,
        email_providers,
    )
    for module in modules:
        app.include_router(module.router)
    pages = install_assets(app)
    console = install_console(app)
    app.state.routes = [
        route
        for route in [
            *app.router.routes,
            *(route for module in modules for route in module.router.routes),
            *pages.routes,
            *console.routes,
        ]
        if isinstance(route, Route)  # FastAPI's APIRoute is one; its included-router wrappers are not
    ]
    app.state.key_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    app.state.client_limiter = RateLimiter(settings.webhook_rate_per_second, settings.webhook_rate_burst)
    app.openapi = lambda: _documented(app)  # type: ignore[method-assign]
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(UrlControlCharacters)
    return app


def _documented(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with the rule `UrlControlCharacters` enforces on every path and query
    parameter written into their schemas (request bodies document it through `api.schemas.Strict`)."""
    if app.openapi_schema is None:
        document = FastAPI.openapi(app)
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    if parameter.get("in") in ("path", "query") and "schema" in parameter:
                        document_no_controls(parameter["schema"], multiline=False)
        app.openapi_schema = document
    return app.openapi_schema
