"""Limits enforced on the raw request, before any route reads it: the body's size (before the
body is read into memory) and control characters in the URL."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.text import control_problem


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class UrlControlCharacters:
    """No id or query value holds a control character (PostgreSQL cannot even compare one
    with NUL), so such a URL is answered here, once for every route: a path naming something that
    cannot exist is 404, a query value is 422 naming the parameter."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Only the JSON API's paths: the pages (/u/, /r/) answer an unknown token with their own page.
        if scope["type"] == "http" and scope.get("path", "").startswith(("/v1/", "/webhooks/")):
            if control_problem(scope.get("path", ""), multiline=False):
                await _send_error(send, 404, "not_found", "no such resource: the path holds a control character")
                return
            try:
                fields = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            except ValueError:
                fields = []  # not a query string at all: the route's own parsing answers it
            for name, value in fields:
                problem = control_problem(name, multiline=False) or control_problem(value, multiline=False)
                if problem:
                    await _send_error(send, 422, "invalid", f"query parameter {name[:40]!r}: {problem}")
                    return
        await self.app(scope, receive, send)


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        await _send_error(send, 413, "too_large", f"request body exceeds {self.max_bytes} bytes")
