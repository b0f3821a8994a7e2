"""Checking `X-Twilio-Signature` on webhooks.

Twilio signs the URL it called. Behind a TLS-terminating proxy the app sees another scheme and
host, so the URL is rebuilt from NUDGE_PUBLIC_URL (or, only when configured, from the proxy's
X-Forwarded-* headers).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from twilio.request_validator import RequestValidator

from nudge.settings import Settings


def public_request_url(request: Request, settings: Settings) -> str:
    path = request.url.path
    query = f"?{request.url.query}" if request.url.query else ""
    if settings.trust_forwarded_headers and "x-forwarded-host" in request.headers:
        proto = request.headers.get("x-forwarded-proto", request.url.scheme).split(",")[0].strip()
        host = request.headers["x-forwarded-host"].split(",")[0].strip()
        return f"{proto}://{host}{path}{query}"
    return f"{settings.public_url}{path}{query}"


def signature_valid(request: Request, params: Mapping[str, str], settings: Settings) -> bool:
    signature = request.headers.get("x-twilio-signature", "")
    if not signature or not settings.twilio_auth_token:
        return False
    validator = RequestValidator(settings.twilio_auth_token)
    return bool(validator.validate(public_request_url(request, settings), dict(params), signature))
