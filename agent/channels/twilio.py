"""WhatsApp and SMS through Twilio's Messages API, with the real `twilio` client."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.utils import get_environ_proxies
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from agent.channels.base import ChannelError, FailureAction, OutboundMessage, SendResult

# Twilio error codes → what to do. https://www.twilio.com/docs/api/errors
_SUPPRESS = {"21610", "63014", "21606"}  # recipient unsubscribed / blocked the sender
_NEXT_CHANNEL = {"63016", "63003", "63024", "21211", "21614", "21408", "63032"}
_RETRY = {"20429", "63018", "20500", "20503", "30001"}


def failure_action(code: str, http_status: int) -> FailureAction:
    if code in _SUPPRESS:
        return "suppress"
    if code in _NEXT_CHANNEL:
        return "next_channel"
    if code in _RETRY or http_status == 429 or http_status >= 500:
        return "retry"
    return "fail"


TWILIO_API_URL = "https://api.twilio.com"


def settle_environment(session: requests.Session, url: str) -> None:
    """Read once, now, what `trust_env` makes requests read from the environment on every call
    (the proxies for `url`, a CA bundle): that lookup walks all of os.environ, per send. Proxy
    settings changed later need a new client."""
    session.proxies.update(get_environ_proxies(url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False


class RedirectingHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no type hints
    """Sends every Twilio API call to `base_url` instead of *.twilio.com (NUDGE_TWILIO_API_URL)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        settle_environment(self.session, base_url)
        target = urlsplit(base_url)
        self._scheme, self._netloc, self._prefix = target.scheme, target.netloc, target.path.rstrip("/")

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        parts = urlsplit(url)
        rewritten = urlunsplit((self._scheme, self._netloc, self._prefix + parts.path, parts.query, ""))
        return super().request(method, rewritten, params, data, headers, auth, timeout, allow_redirects)


def make_twilio_client(account_sid: str, auth_token: str, api_url: str = "", timeout: float = 10.0) -> Client:
    if api_url:
        http_client = RedirectingHttpClient(api_url, timeout)
    else:
        http_client = TwilioHttpClient(timeout=timeout)
        settle_environment(http_client.session, TWILIO_API_URL)  # every call goes to api.twilio.com
    return Client(account_sid, auth_token, http_client=http_client)


def _address(channel: str, number: str) -> str:
    if channel == "whatsapp" and not number.startswith("whatsapp:"):
        return f"whatsapp:{number}"
    return number


class TwilioChannel:
    """One instance per channel name ('whatsapp' or 'sms'); the client is shared."""

    def __init__(self, name: str, client: Client) -> None:
        if name not in ("whatsapp", "sms"):
            raise ValueError(f"Twilio does not carry the {name} channel")
        self.name = name
        self._client = client

    def send(self, message: OutboundMessage) -> SendResult:
        kwargs: dict[str, object] = {
            "to": _address(self.name, message.to),
            "from_": _address(self.name, message.sender),
        }
        if message.content_sid:
            kwargs["content_sid"] = message.content_sid
            kwargs["content_variables"] = json.dumps(dict(message.content_variables))
        else:
            kwargs["body"] = message.body
        if message.status_callback:
            kwargs["status_callback"] = message.status_callback
        try:
            created = self._client.messages.create(**kwargs)
        except TwilioRestException as exc:
            code = str(exc.code or exc.status)
            raise ChannelError(
                f"Twilio refused the {self.name} message ({code}): {exc.msg}",
                code=code,
                action=failure_action(code, int(exc.status or 0)),
            ) from exc
        except OSError as exc:  # connection refused/reset, timeouts from requests
            raise ChannelError(f"Twilio unreachable: {exc}", code="network", action="retry") from exc
        return SendResult(provider_id=str(created.sid), status=str(created.status or "queued"))

    def find_sent(self, message: OutboundMessage, since: datetime) -> SendResult | None:
        try:
            candidates = self._client.messages.list(
                to=_address(self.name, message.to),
                from_=_address(self.name, message.sender),
                date_sent_after=since - timedelta(days=1),
                limit=50,
            )
        except (TwilioRestException, OSError) as exc:
            raise ChannelError(
                f"cannot ask Twilio about an interrupted send: {exc}", code="lookup", action="retry"
            ) from exc
        # One send per lead is in flight at a time, so a message from our number to this lead
        # created after the attempt began is the one we were sending.
        for candidate in candidates:
            created = candidate.date_created
            if created is None or created >= since - timedelta(seconds=5):
                return SendResult(provider_id=str(candidate.sid), status=str(candidate.status or "sent"))
        return None
