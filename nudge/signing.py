"""HMAC-SHA256 request signatures with a timestamp: inbound email webhooks, audience webhooks.

The signed text is "<unix seconds>.<raw body>", so a captured request cannot be replayed once
its timestamp is older than the tolerance, and the body cannot be changed without the secret.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_problem(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: datetime
) -> str | None:
    """Why this request must be refused, or None when it is authentic and fresh."""
    if not secret:
        return "this endpoint is not configured (set its shared secret)"
    if not timestamp or not signature:
        return "X-Nudge-Timestamp and X-Nudge-Signature are required"
    try:
        moment = int(timestamp)
    except ValueError:
        return "X-Nudge-Timestamp must be unix seconds"
    if abs(now.timestamp() - moment) > TOLERANCE_SECONDS:
        return f"X-Nudge-Timestamp is more than {TOLERANCE_SECONDS} s away from now (a replay?)"
    if not hmac.compare_digest(sign(secret, moment, body), signature):
        return "X-Nudge-Signature does not match this body"
    return None
