"""Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-id`,
`webhook-timestamp` (Unix seconds) and `webhook-signature`, a space-separated list of
`v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")). The key is the base64 text after
`whsec_`. During a rotation both secrets sign, so a receiver holding either one verifies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """24 random bytes as `whsec_` + base64 (the spec asks for 24 to 64 bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    text = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    return base64.b64decode(text + "==")


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets_: Iterable[str], msg_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The three headers for one attempt, signed with every secret given (current first)."""
    timestamp = int(at.timestamp())
    signed = " ".join(signature(secret, msg_id, timestamp, body) for secret in secrets_)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signed,
        "content-type": "application/json",
    }
