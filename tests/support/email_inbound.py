"""POSTs to /webhooks/email/inbound signed as a mail provider's bridge signs them."""

from __future__ import annotations

import json
from collections.abc import Mapping

import httpx

from nudge.signing import sign
from tests.conftest import LiveNudge


def post_signed_email(live: LiveNudge, payload: Mapping[str, object], *, secret: str, age: int = 0) -> httpx.Response:
    """`age`: seconds the signature's timestamp lies in the past."""
    body = json.dumps(payload).encode()
    stamp = int(live.runtime.clock.now().timestamp()) - age
    return live.client.post(
        "/webhooks/email/inbound",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Nudge-Timestamp": str(stamp),
            "X-Nudge-Signature": sign(secret, stamp, body),
        },
    )
