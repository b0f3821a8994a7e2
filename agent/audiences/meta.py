"""Meta (Facebook) Custom Audiences through the Marketing API's `/{audience_id}/users` edge.

POST adds and DELETE removes; `payload` is {"schema": ["EMAIL", "PHONE"], "data": [[h, h], …]}
with SHA-256 hashes (an empty string where a lead lacks one), at most 10,000 rows a request.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import httpx

from agent.audiences.base import AudienceAction, AudienceError, Member

SCHEMA = ("EMAIL", "PHONE")
MAX_ROWS = 10_000


def users_payload(members: Sequence[Member]) -> dict[str, object]:
    return {"schema": list(SCHEMA), "data": [[m.get("email", ""), m.get("phone", "")] for m in members]}


class MetaCustomAudience:
    def __init__(
        self,
        http: httpx.Client,
        *,
        audience_id: str,
        access_token: str,
        graph_url: str = "https://graph.facebook.com",
        version: str = "v21.0",
        batch_size: int = MAX_ROWS,
    ) -> None:
        self.name = f"meta:{audience_id}"
        self._http = http
        self._url = f"{graph_url.rstrip('/')}/{version}/{audience_id}/users"
        self._token = access_token
        self._batch = max(1, min(batch_size, MAX_ROWS))

    def sync(self, action: AudienceAction, members: Sequence[Member]) -> None:
        for start in range(0, len(members), self._batch):
            form = {
                "payload": json.dumps(users_payload(members[start : start + self._batch])),
                "access_token": self._token,
            }
            method = "POST" if action == "add" else "DELETE"
            try:
                response = self._http.request(method, self._url, data=form, timeout=20)
            except httpx.HTTPError as exc:
                raise AudienceError(f"{self.name} unreachable: {exc}", retry=True) from exc
            if response.status_code >= 400:
                retry = response.status_code == 429 or response.status_code >= 500
                raise AudienceError(f"{self.name} answered {response.status_code}: {response.text[:200]}", retry=retry)
