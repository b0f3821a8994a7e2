"""WhatsApp and SMS through Twilio's Messages API, with the real `twilio` client."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import certifi
import urllib3
from requests.utils import get_environ_proxies, select_proxy
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.util import make_headers, parse_url

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
_log = logging.getLogger("twilio.http_client")


class NotSentError(ConnectionError):
    """No connection could be made (refused, DNS failure, connect timeout): the request never left."""


def _never_sent(exc: urllib3.exceptions.HTTPError) -> bool:
    if isinstance(exc, urllib3.exceptions.ProxyError):  # the proxy, or Twilio through it, was not reached
        return isinstance(exc.original_error, urllib3.exceptions.ConnectTimeoutError)
    # NewConnectionError and NameResolutionError are ConnectTimeoutErrors too.
    return isinstance(exc, urllib3.exceptions.ConnectTimeoutError)


def _form(values: Mapping[str, object]) -> str:
    """Form-encode as requests does: a list gives one pair per item, None values are left out."""
    pairs: list[tuple[str, object]] = []
    for key, value in values.items():
        items = value if isinstance(value, list | tuple) else (value,)
        pairs.extend((key, item) for item in items if item is not None)
    return urlencode(pairs)


class PooledHttpClient(HttpClient):  # type: ignore[misc]  # twilio ships no type hints
    """Twilio's HTTP client interface over one urllib3 connection pool.

    The stock TwilioHttpClient goes through a requests Session, whose per-call preparation
    (session settings merged, hooks, cookies, adapter lookup, the environment) costs more CPU than
    the call: about a thousand Python calls per message, and a send is on every instant reply's
    path. This does what that path does for Twilio's API and no more: a form body, basic auth, one
    timeout, no redirects and no retries (as TwilioHttpClient). The environment's proxy and CA
    bundle are read once, when it is built: changed settings need a new client. `base_url`
    (NUDGE_TWILIO_API_URL) sends every call there instead of *.twilio.com. Network failures are
    raised as OSError (ConnectionError), as requests raised them: NotSentError when the request
    cannot have left, else (a read timeout, a reset) Twilio may have acted on it.
    """

    def __init__(self, base_url: str = "", timeout: float = 10.0, *, pool_size: int = 10) -> None:
        super().__init__(_log, False, timeout)
        target = urlsplit(base_url or TWILIO_API_URL)
        self._base = (target.scheme, target.netloc, target.path.rstrip("/")) if base_url else None
        target_url = urlunsplit((target.scheme, target.netloc, "/", "", ""))
        self.proxy: str | None = select_proxy(target_url, get_environ_proxies(target_url))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
        options: dict[str, Any] = {
            "maxsize": pool_size,
            "cert_reqs": "CERT_REQUIRED",
            ("ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"): bundle,  # as requests takes either
            "retries": False,
            "timeout": urllib3.Timeout(connect=timeout, read=timeout),
        }
        self._pool: urllib3.PoolManager
        if self.proxy:
            auth = parse_url(self.proxy).auth
            headers = make_headers(proxy_basic_auth=auth) if auth else None
            self._pool = urllib3.ProxyManager(self.proxy, proxy_headers=headers, **options)
        else:
            self._pool = urllib3.PoolManager(**options)

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
        if self._base is not None:
            scheme, netloc, prefix = self._base
            parts = parts._replace(scheme=scheme, netloc=netloc, path=prefix + parts.path)
        if params:
            parts = parts._replace(query="&".join(q for q in (parts.query, _form(params)) if q))
        url = urlunsplit(parts._replace(fragment=""))
        sent = {"Accept-Encoding": "gzip, deflate", **(headers or {})}
        if auth is not None:
            sent.update(make_headers(basic_auth=f"{auth[0]}:{auth[1]}"))
        body: str | None = None
        if data and sent.get("Content-Type") in ("application/json", "application/scim+json"):
            body = json.dumps(data)
        elif data:
            body = _form(data)
        self.log_request({"method": method.upper(), "url": url, "params": params, "headers": sent})
        wait = self.timeout if timeout is None else timeout
        try:
            raw = self._pool.request(
                method.upper(),
                url,
                body=body,
                headers=sent,
                redirect=allow_redirects,
                timeout=urllib3.Timeout(connect=wait, read=wait),
            )
        except urllib3.exceptions.HTTPError as exc:
            error = NotSentError if _never_sent(exc) else ConnectionError
            raise error(f"{type(exc).__name__}: {exc}") from exc
        charset = _charset(raw.headers.get("Content-Type", ""))
        response = Response(raw.status, raw.data.decode(charset, errors="replace"), raw.headers)
        self.log_response(raw.status, response)
        self._test_only_last_response = response
        return response


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"


def make_twilio_client(account_sid: str, auth_token: str, api_url: str = "", timeout: float = 10.0) -> Client:
    return Client(account_sid, auth_token, http_client=PooledHttpClient(api_url, timeout))


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
        except NotSentError as exc:
            raise ChannelError(f"Twilio unreachable: {exc}", code="network", action="retry") from exc
        except OSError as exc:  # a read timeout or a reset after the request went out
            raise ChannelError(
                f"Twilio did not answer a sent request: {exc}", code="network", action="unconfirmed"
            ) from exc
        return SendResult(provider_id=str(created.sid), status=str(created.status or "queued"))

    def find_sent(self, message: OutboundMessage, since: datetime) -> SendResult | None:
        try:
            candidates = self._client.messages.list(
                to=_address(self.name, message.to),
                from_=_address(self.name, message.sender),
                date_sent_after=since - timedelta(days=1),
                limit=50,
            )
        except (TwilioException, OSError, ValueError) as exc:  # an error answer, no answer, a bad page
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
