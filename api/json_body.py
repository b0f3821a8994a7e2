"""Request bodies are read as JSON within `nudge.documents`' bounds on every route.

FastAPI parses JSON bodies with `Request.json()`; a RecursionError or an over-long integer from
the plain parser becomes its generic 400. Every router uses `BoundedJsonRoute`, whose request
raises `json.JSONDecodeError` instead, which FastAPI answers as a 422 naming the problem."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from nudge.documents import DocumentError, loads_json


class _BoundedJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = loads_json(body)
            except DocumentError as exc:
                raise json.JSONDecodeError(str(exc), "", 0) from exc
        return self._json


class BoundedJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            return await handler(_BoundedJsonRequest(request.scope, request.receive))

        return bounded
