"""A business's webhook receiver written with the `standardwebhooks` library, on a real port.

It verifies every request with `standardwebhooks.Webhook` (401 when that fails), deduplicates on
`webhook-id` as the spec asks receivers to, and records what it accepted. `down()` closes the
port (connections are refused, as when the receiver's host is off) and `up()` opens it again.
`now` is the receiver's clock: the library judges `webhook-timestamp` against it (±5 minutes),
so a test on a virtual clock gives the receiver the same clock, as it does the Twilio stand-in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.server_thread import ServerThread


class _ClockedWebhook(Webhook):
    """The library's verification, its timestamp window judged on the receiver's clock."""

    def __init__(self, secret: str, now: Callable[[], datetime] | None) -> None:
        super().__init__(secret)
        self._now = now

    def _Webhook__verify_timestamp(self, timestamp_header: str) -> datetime:  # the library's private check
        if self._now is None:
            return super()._Webhook__verify_timestamp(timestamp_header)  # type: ignore[misc, no-any-return]
        now = self._now()
        try:
            timestamp = datetime.fromtimestamp(float(timestamp_header), tz=UTC)
        except ValueError as exc:
            raise WebhookVerificationError("Invalid Signature Headers") from exc
        if not now - timedelta(minutes=5) <= timestamp <= now + timedelta(minutes=5):
            raise WebhookVerificationError("Message timestamp outside the tolerance")
        return timestamp


@dataclass(frozen=True)
class Accepted:
    id: str
    type: str
    lead_id: str | None
    payload: dict[str, Any]
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    def __init__(self, *, now: Callable[[], datetime] | None = None, secrets: list[str] | None = None) -> None:
        self.secrets: list[str] = list(secrets or [])  # any one of them verifying is enough
        self._now = now
        self._lock = threading.Lock()
        self.accepted: list[Accepted] = []
        self.duplicates: list[str] = []
        self.refused: list[str] = []
        self.requests = 0
        self.signatures: list[str] = []  # every request's webhook-signature header, verified or not
        app = Starlette(routes=[Route("/hook", self._receive, methods=["POST"])])
        self._app = app
        self._server = ServerThread(app, name="webhook-receiver")
        self._port = 0

    async def _receive(self, request: Request) -> JSONResponse:
        body = await request.body()
        headers = dict(request.headers)
        with self._lock:
            self.requests += 1
            self.signatures.append(headers.get("webhook-signature", ""))
            payload = None
            for secret in self.secrets:
                try:
                    payload = _ClockedWebhook(secret, self._now).verify(body, headers)
                    break
                except WebhookVerificationError:
                    continue
            if payload is None:
                self.refused.append(headers.get("webhook-id", ""))
                return JSONResponse({"error": "signature"}, status_code=401)
            msg_id = headers["webhook-id"]
            if any(a.id == msg_id for a in self.accepted):
                self.duplicates.append(msg_id)
                return JSONResponse({"ok": True, "duplicate": True})
            data = payload.get("data") or {}
            lead_id = data.get("lead_id") or (data.get("lead") or {}).get("id")
            self.accepted.append(Accepted(msg_id, payload["type"], lead_id, payload, headers, body))
        return JSONResponse({"ok": True})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/hook"

    def down(self) -> None:
        self._server.stop()

    def up(self) -> None:
        self._server = ServerThread(self._app, name="webhook-receiver", port=self._port)
        self._server.start()

    def types(self) -> list[str]:
        with self._lock:
            return [a.type for a in self.accepted]

    def __enter__(self) -> Self:
        self._server.start()
        self._port = int(self._server.url.rsplit(":", 1)[1])
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.stop()
