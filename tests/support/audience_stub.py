"""Local stand-ins for audience destinations: Meta's `/{version}/{audience_id}/users` edge and a
business's own webhook. They record every request as it arrived (method, path, raw body)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.server_thread import ServerThread


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    body: bytes
    headers: dict[str, str]


class AudienceStub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self.fail_next = 0  # answer this many requests with 503 first

        async def record(request: Request) -> JSONResponse:
            body = await request.body()
            with self._lock:
                self._received.append(Received(request.method, request.url.path, body, dict(request.headers)))
                if self.fail_next > 0:
                    self.fail_next -= 1
                    return JSONResponse({"error": {"message": "try later", "code": 2}}, status_code=503)
            if request.url.path.endswith("/users"):  # Meta's answer shape
                return JSONResponse({"audience_id": request.path_params.get("audience"), "num_received": 1})
            return JSONResponse({"ok": True})

        app = Starlette(
            routes=[
                Route("/{version}/{audience}/users", record, methods=["POST", "DELETE"]),
                Route("/hook", record, methods=["POST"]),
            ]
        )
        self._server = ServerThread(app, name="audience-stub")

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.stop()
