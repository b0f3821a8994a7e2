"""A business's webhook endpoint as a subscriber: a JSON POST signed per Standard Webhooks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import httpx

from agent.events import signing
from agent.events.subscriber import DeliveryError, Envelope, retry_after_seconds
from agent.outbound_urls import RefusedTarget

TIMEOUT = 5.0


class WebhookSubscriber:
    def __init__(self, http: httpx.Client, *, url: str, secrets: Sequence[str]) -> None:
        # `http` is `agent.outbound_urls.target_client`: the URL is checked again on the address
        # the connection uses, and redirects are not followed.
        self._http, self._url, self._secrets = http, url, list(secrets)

    def deliver(self, event: Envelope, now: datetime) -> int | None:
        body = event.body()
        headers = signing.headers(self._secrets, event.id, now, body)
        try:
            response = self._http.post(self._url, content=body, headers=headers, timeout=TIMEOUT)
        except (RefusedTarget, httpx.InvalidURL) as exc:
            raise DeliveryError(f"url refused: {exc}", final=True) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"unreachable: {type(exc).__name__}: {exc}") from exc
        if not 200 <= response.status_code < 300:  # a 3xx did not deliver: redirects are not followed
            wait = retry_after_seconds(response.headers.get("retry-after"), now)
            raise DeliveryError(
                f"answered {response.status_code}",
                status=response.status_code,
                retry_after=wait if response.status_code in (429, 503) else None,
            )
        return response.status_code
