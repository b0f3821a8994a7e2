"""A generic audience destination: a signed JSON POST to the business's own endpoint (a CDP, a
Zapier hook, another ad platform's connector).

Body: {"action": "add"|"remove", "audience": NAME, "members": [{"email_sha256", "phone_sha256"}]};
headers X-Nudge-Timestamp and X-Nudge-Signature = "sha256=" HMAC-SHA256(secret, "<ts>.<body>").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import httpx

from agent.audiences.base import AudienceAction, AudienceError, Member
from agent.outbound_urls import RefusedTarget
from nudge.signing import sign


class WebhookAudience:
    def __init__(
        self,
        http: httpx.Client,
        *,
        url: str,
        secret: str,
        name: str,
        clock: Callable[[], float],
        batch_size: int = 1000,
    ) -> None:
        self.name = f"webhook:{name}"
        self._audience = name
        self._http = http
        self._url = url
        self._secret = secret
        self._clock = clock
        self._batch = max(1, batch_size)

    def sync(self, action: AudienceAction, members: Sequence[Member]) -> None:
        for start in range(0, len(members), self._batch):
            rows = [
                {f"{key}_sha256": value for key, value in member.items()}
                for member in members[start : start + self._batch]
            ]
            body = json.dumps({"action": action, "audience": self._audience, "members": rows}).encode()
            stamp = int(self._clock())
            headers = {
                "Content-Type": "application/json",
                "X-Nudge-Timestamp": str(stamp),
                "X-Nudge-Signature": sign(self._secret, stamp, body),
            }
            try:
                response = self._http.post(self._url, content=body, headers=headers, timeout=20)
            except (RefusedTarget, httpx.InvalidURL) as exc:
                raise AudienceError(f"{self.name} refused: {exc}", retry=False) from exc
            except httpx.HTTPError as exc:
                raise AudienceError(f"{self.name} unreachable: {exc}", retry=True) from exc
            if response.status_code >= 300:
                retry = response.status_code == 429 or response.status_code >= 500
                raise AudienceError(f"{self.name} answered {response.status_code}", retry=retry)
