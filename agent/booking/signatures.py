"""Each provider's signature, checked exactly as the provider signs.

- Cal.com: `X-Cal-Signature-256` = hex HMAC-SHA256 of the raw body with the webhook's secret
  (no timestamp: a replay is caught by the booking uid, which makes it a duplicate).
- Calendly: `Calendly-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`
  with the subscription's signing key; a `t` older than three minutes is refused, as Calendly's
  own verification example does.
- generic: Nudge's own scheme (`nudge.signing`: X-Nudge-Timestamp and X-Nudge-Signature).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime

from nudge.signing import signature_problem

PROVIDERS = ("calcom", "calendly", "generic")
CALENDLY_TOLERANCE_SECONDS = 180
MAX_HEADER = 1000


def _hex_hmac(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def calcom_problem(secrets: Sequence[str], header: str | None, body: bytes) -> str | None:
    if not header:
        return "X-Cal-Signature-256 is required"
    given = header.strip().lower()
    if any(hmac.compare_digest(_hex_hmac(secret, body), given) for secret in secrets):
        return None
    return "X-Cal-Signature-256 does not match this body"


def parse_calendly_header(header: str) -> tuple[int, list[str]] | None:
    """(t, the v1 signatures), or None when the header is not `t=…,v1=…`."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            return None
        if name == "t":
            if not value.isdigit() or len(value) > 12:
                return None
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value.strip().lower())
    if timestamp is None or not signatures:
        return None
    return timestamp, signatures


def calendly_problem(secrets: Sequence[str], header: str | None, body: bytes, now: datetime) -> str | None:
    if not header:
        return "Calendly-Webhook-Signature is required"
    parsed = parse_calendly_header(header[:MAX_HEADER])
    if parsed is None:
        return "Calendly-Webhook-Signature must be t=<unix seconds>,v1=<hex signature>"
    timestamp, given = parsed
    if timestamp < now.timestamp() - CALENDLY_TOLERANCE_SECONDS:
        return f"Calendly-Webhook-Signature is more than {CALENDLY_TOLERANCE_SECONDS} s old (a replay?)"
    for secret in secrets:
        expected = _hex_hmac(secret, f"{timestamp}.".encode() + body)
        if any(hmac.compare_digest(expected, signature) for signature in given):
            return None
    return "Calendly-Webhook-Signature does not match this body"


def generic_problem(secrets: Sequence[str], headers: Mapping[str, str], body: bytes, now: datetime) -> str | None:
    timestamp, signature = headers.get("x-nudge-timestamp"), headers.get("x-nudge-signature")
    problem: str | None = "no signing secret"
    for secret in secrets:
        problem = signature_problem(secret, timestamp, signature, body, now)
        if problem is None:
            return None
    return problem


def signature_problem_for(
    provider: str, secrets: Sequence[str], headers: Mapping[str, str], body: bytes, now: datetime
) -> str | None:
    """Why the delivery must be refused, or None when one of `secrets` signed it. `headers` has
    lower-case names."""
    if provider == "calcom":
        return calcom_problem(secrets, headers.get("x-cal-signature-256"), body)
    if provider == "calendly":
        return calendly_problem(secrets, headers.get("calendly-webhook-signature"), body, now)
    return generic_problem(secrets, headers, body, now)
