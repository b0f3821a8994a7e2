"""A local, Twilio-compatible Messages API for tests (there is no internet in CI).

``TwilioStub`` serves the three Messages endpoints the real ``twilio`` client calls (create, list, fetch)
on 127.0.0.1, records every message, can be scripted to fail like Twilio does, and sends signed status
callbacks. It also simulates Twilio calling Nudge's inbound webhook (``post_inbound``).

    with TwilioStub() as stub:
        client = twilio.rest.Client(stub.account_sid, stub.auth_token, http_client=<redirecting client>)
        client.messages.create(to="whatsapp:+15551230001", from_="whatsapp:+15550001111", body="Hi")
        stub.wait_for(1, timeout=1.0)

Wire formats follow twilio-python 9.x (twilio/rest/api/v2010/account/message, twilio/base/version.py,
twilio/base/page.py, twilio/request_validator.py); where the stub simplifies Twilio, the comment says so.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import hmac
import itertools
import json
import math
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import TracebackType
from typing import Any, Generic, Literal, NamedTuple, Protocol, Self, TypedDict, TypeVar, overload
from urllib.parse import parse_qsl, urlencode

import httpx
from starlette.applications import Starlette
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from tests.support.server_thread import ServerThread

__all__ = [
    "API_VERSION",
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "TWILIO_ERRORS",
    "CallbackRecord",
    "FormPoster",
    "MessageRecord",
    "ReplyFault",
    "RequestRecord",
    "StatusMode",
    "StubTimeout",
    "TwilioStub",
    "inbound_params",
    "post_inbound",
    "twilio_signature",
]

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "0" * 31 + "1"
DEFAULT_AUTH_TOKEN = "0123456789abcdef0123456789abcdef"

# Twilio error codes the stub produces or that tests commonly script: code -> (HTTP status, message).
# Messages are Twilio's wording, so log lines and error handling in Nudge see realistic text.
TWILIO_ERRORS: Mapping[int, tuple[int, str]] = {
    20001: (400, "Invalid parameter"),
    20003: (401, "Authenticate"),
    20004: (405, "Method not allowed"),
    20404: (404, "The requested resource was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "An internal server error has occurred"),
    20503: (503, "Service unavailable"),
    21211: (400, "Invalid 'To' Phone Number"),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
    21655: (400, "The ContentSid is Invalid."),
    21656: (400, "The ContentVariables Parameter is invalid."),
    21910: (400, "Invalid From and To pair. From and To should be of the same channel"),
    30003: (400, "Unreachable destination handset"),
    30005: (400, "Unknown destination handset"),
    30006: (400, "Landline or unreachable carrier"),
    30007: (400, "Message filtered"),
    30008: (400, "Unknown error"),
    63003: (400, "Channel could not find To address"),
    63016: (
        400,
        "Failed to send freeform message because you are outside the allowed window. "
        "If you are using WhatsApp, please use a Message Template.",
    ),
    63018: (429, "Rate limit exceeded for Channel"),
    63024: (400, "Invalid message recipient"),
}

StatusMode = Literal["off", "auto", "manual"]
# What happens to the answer of a create that was accepted: "stall" answers only after a delay (the
# client's read timeout fires first), "reset" drops the connection without answering.
ReplyFault = Literal["stall", "reset"]
_STATUS_MODES: tuple[StatusMode, ...] = ("off", "auto", "manual")
_FINAL_FAILURE_STATUSES = ("failed", "undelivered")
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
_DEFAULT_PAGE_SIZE = 50
_MAX_PAGE_SIZE = 1000
_MAX_BODY = 1600

# GSM 03.38 alphabets, for num_segments: a GSM-7 SMS carries 160 septets (153 per part when split),
# anything else goes out as UCS-2 with 70 code units (67 per part).
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

_T = TypeVar("_T")
_R = TypeVar("_R")
_ResponseT_co = TypeVar("_ResponseT_co", covariant=True)
Form = ImmutableMultiDict[str, str]


# --------------------------------------------------------------------------------------------------
# Public record types (plain dicts, so tests can compare and print them easily)
# --------------------------------------------------------------------------------------------------

# Functional syntax because Twilio's field is called "from", a Python keyword.
MessageRecord = TypedDict(
    "MessageRecord",
    {
        "sid": str,
        "account_sid": str,
        "to": str,
        "from": str | None,
        "body": str,
        "channel": str,  # "whatsapp" or "sms" (the address prefix, if any)
        "content_sid": str | None,
        "content_variables": dict[str, Any] | None,  # ContentVariables, JSON-decoded
        "media_urls": list[str],
        "status_callback": str | None,
        "messaging_service_sid": str | None,
        "status": str,
        "error_code": int | None,
        "num_segments": int,
        "params": dict[str, str],  # the form exactly as received (last value wins for repeated keys)
        "date_created": datetime,
        "date_sent": datetime | None,
        "date_updated": datetime,
        "received_at": float,  # time.monotonic() when the create request was handled
    },
)


class RequestRecord(TypedDict):
    """One API call as the stub saw it, including rejected ones (useful to assert retries)."""

    method: str
    path: str
    params: dict[str, str]
    status: int
    error_code: int | None
    received_at: float


class CallbackRecord(TypedDict):
    """One status callback the stub POSTed."""

    sid: str
    status: str
    url: str
    params: dict[str, str]
    signature: str
    status_code: int | None  # the receiver's HTTP status, None when the POST itself failed
    error: str | None
    sent_at: float


class StubTimeout(AssertionError):
    """A wait_* helper gave up. An AssertionError, so pytest reports it as a test failure."""


# --------------------------------------------------------------------------------------------------
# Signing and inbound webhooks
# --------------------------------------------------------------------------------------------------


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """The ``X-Twilio-Signature`` value Twilio sends for a form POST of ``params`` to ``url``."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))


def inbound_params(
    from_: str,
    to: str,
    body: str,
    channel: Literal["whatsapp", "sms"] = "whatsapp",
    sid: str | None = None,
    *,
    account_sid: str = DEFAULT_ACCOUNT_SID,
    profile_name: str = "Test Lead",
    media_urls: Sequence[str] = (),
) -> dict[str, str]:
    """The form fields Twilio posts to an incoming-message webhook.

    Numbers may be given bare ("+15551230001") or with the "whatsapp:" prefix; the prefix is added or
    removed to match ``channel``.
    """
    sender, recipient = _address(from_, channel), _address(to, channel)
    message_sid = sid or _new_sid("SM")
    params = {
        "MessageSid": message_sid,
        "SmsMessageSid": message_sid,
        "SmsSid": message_sid,
        "AccountSid": account_sid,
        "From": sender,
        "To": recipient,
        "Body": body,
        "NumMedia": str(len(media_urls)),
        "NumSegments": "1" if channel == "whatsapp" else str(_num_segments(body, "sms")),
        "SmsStatus": "received",
        "ApiVersion": API_VERSION,
    }
    for index, media_url in enumerate(media_urls):
        params[f"MediaUrl{index}"] = media_url
        params[f"MediaContentType{index}"] = "image/jpeg"
    if channel == "whatsapp":
        params |= {
            "ProfileName": profile_name,
            "WaId": _bare_number(from_).lstrip("+"),
            "MessageType": "image" if media_urls else "text",
            "ReferralNumMedia": "0",
        }
    return params


class FormPoster(Protocol[_ResponseT_co]):
    """Anything that can POST a form: httpx.Client, or Starlette's TestClient (an httpx2.Client)."""

    def post(self, url: str, *, data: Mapping[str, str], headers: Mapping[str, str]) -> _ResponseT_co: ...


@overload
def post_inbound(
    webhook_url: str,
    params: Mapping[str, str],
    auth_token: str,
    *,
    forge: bool = ...,
    client: None = ...,
    timeout: float = ...,
) -> httpx.Response: ...


@overload
def post_inbound(
    webhook_url: str,
    params: Mapping[str, str],
    auth_token: str,
    *,
    forge: bool = ...,
    client: FormPoster[_R],
    timeout: float = ...,
) -> _R: ...


def post_inbound(
    webhook_url: str,
    params: Mapping[str, str],
    auth_token: str,
    *,
    forge: bool = False,
    client: FormPoster[object] | None = None,
    timeout: float = 5.0,
) -> object:
    """POST ``params`` to ``webhook_url`` the way Twilio does, signed with ``auth_token``.

    ``forge=True`` signs with the wrong secret, to check that the webhook rejects it. ``client`` may be an
    httpx.Client or Starlette's TestClient (then use its base URL, e.g. http://testserver/...); the
    response is whatever that client returns. Without one, a fresh httpx.Client is used.
    """
    secret = f"forged-{auth_token}" if forge else auth_token
    headers = {
        "X-Twilio-Signature": twilio_signature(webhook_url, params, secret),
        "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
        "User-Agent": "TwilioProxy/1.1",
    }
    if client is not None:
        return client.post(webhook_url, data=dict(params), headers=headers)
    with httpx.Client(timeout=timeout, trust_env=False) as own_client:
        return own_client.post(webhook_url, data=dict(params), headers=headers)


# --------------------------------------------------------------------------------------------------
# Small pure helpers
# --------------------------------------------------------------------------------------------------


def _new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _channel(address: str) -> str:
    prefix, separator, _ = address.partition(":")
    return prefix.lower() if separator else "sms"


def _bare_number(address: str) -> str:
    return address.partition(":")[2] if ":" in address else address


def _address(number: str, channel: str) -> str:
    bare = _bare_number(number)
    return f"whatsapp:{bare}" if channel == "whatsapp" else bare


def _recipient_matches(pattern: str | None, to: str) -> bool:
    """None matches everyone; a bare number matches it on every channel; a prefixed one only itself.

    Tests usually think of an opt-out as being about the person, so block("+1555...") also covers
    "whatsapp:+1555...", while block("whatsapp:+1555...") leaves SMS alone.
    """
    if pattern is None or pattern == to:
        return True
    return ":" not in pattern and _bare_number(to) == pattern


def _num_segments(body: str, channel: str) -> int:
    if channel != "sms" or not body:
        return 1
    if all(char in _GSM7_BASIC or char in _GSM7_EXTENDED for char in body):
        units = len(body) + sum(1 for char in body if char in _GSM7_EXTENDED)
        single, part = 160, 153
    else:
        units = sum(2 if ord(char) > 0xFFFF else 1 for char in body)  # UTF-16 code units
        single, part = 70, 67
    return 1 if units <= single else math.ceil(units / part)


def _rfc2822(moment: datetime | None) -> str | None:
    # twilio's deserializer ignores the offset and assumes UTC, so always render in UTC.
    return None if moment is None else format_datetime(moment.astimezone(UTC))


def _parse_content_variables(raw: str) -> dict[str, Any] | None:
    try:
        decoded = json.loads(raw)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


def _messages_path(account_sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/Messages.json"


def _message_path(account_sid: str, sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json"


# --------------------------------------------------------------------------------------------------
# Errors and replies
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    fault: ReplyFault | None = None
    stall: float = 0.0


class _ApiError(Exception):
    """A Twilio error response; raised anywhere in request handling, turned into JSON by the handler."""

    def __init__(self, code: int, message: str | None = None, status: int | None = None) -> None:
        known_status, known_message = TWILIO_ERRORS.get(code, (400, f"Error {code}"))
        self.code = code
        self.status = status if status is not None else known_status
        self.message = message if message is not None else known_message
        super().__init__(f"{self.status} {self.code}: {self.message}")

    def reply(self) -> _Reply:
        # Exactly the legacy shape: twilio.base.version.Version.exception() turns it into a
        # TwilioRestException. Adding "type"/"title" would make it a TwilioServiceException instead.
        body = {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if self.status == 401 else {}
        return _Reply(self.status, body, headers)


# --------------------------------------------------------------------------------------------------
# Thread-safe journal
# --------------------------------------------------------------------------------------------------


class _Journal(Generic[_T]):
    """A list appended to by server threads and read (and waited on) by the test thread.

    Readers always get copies, so a record a test holds never changes under it.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._items: list[_T] = []

    def append(self, item: _T) -> None:
        with self._cond:
            self._items.append(item)
            self._cond.notify_all()

    def snapshot(self) -> list[_T]:
        with self._cond:
            return self._copies()

    def clear(self) -> None:
        with self._cond:
            self._items.clear()
            self._cond.notify_all()

    def update(self, match: Callable[[_T], bool], change: Callable[[_T], None]) -> _T | None:
        """Apply ``change`` to the first item that ``match``es; return a copy of it, or None."""
        with self._cond:
            for item in self._items:
                if match(item):
                    change(item)
                    self._cond.notify_all()
                    return copy.copy(item)
            return None

    def wait_until(self, check: Callable[[list[_T]], _R | None], timeout: float) -> _R | None:
        """Block until ``check(items)`` returns something other than None (returned), or time out (None)."""
        with self._cond:
            return self._cond.wait_for(lambda: check(self._copies()), timeout)

    def _copies(self) -> list[_T]:
        return [copy.copy(item) for item in self._items]


# --------------------------------------------------------------------------------------------------
# Failure policies: scripted errors, blocked recipients, rate limit
# --------------------------------------------------------------------------------------------------


@dataclass
class _Script:
    """A failure that applies to the next ``remaining`` matching messages.

    API failures use ``status``/``message`` (HTTP status and text of the error response); delivery
    failures use ``final_status`` (the message status the progression ends in).
    """

    code: int
    remaining: int
    to: str | None
    status: int | None = None
    message: str | None = None
    final_status: str = "failed"
    fault: ReplyFault = "reset"
    stall: float = 0.0

    def take(self, to: str) -> bool:
        if self.remaining <= 0 or not _recipient_matches(self.to, to):
            return False
        self.remaining -= 1
        return True


class _RateLimiter:
    """At most ``per_second`` accepted messages in any sliding one-second window."""

    def __init__(self, per_second: int | None) -> None:
        self.per_second = per_second
        self._accepted: deque[float] = deque()

    def admit(self, now: float) -> bool:
        if self.per_second is None:
            return True
        while self._accepted and now - self._accepted[0] >= 1.0:
            self._accepted.popleft()
        if len(self._accepted) >= self.per_second:
            return False
        self._accepted.append(now)
        return True

    def clear(self) -> None:
        self._accepted.clear()


class _Policies:
    """Everything that can make an otherwise valid create fail. Guarded by one lock: the test thread
    edits it while the server thread consults it."""

    def __init__(self, rate_limit: int | None) -> None:
        self._lock = threading.Lock()
        self._api_failures: list[_Script] = []
        self._delivery_failures: list[_Script] = []
        self._reply_faults: list[_Script] = []
        self._list_failures: list[_Script] = []
        self._blocked: dict[str, int] = {}
        self._limiter = _RateLimiter(rate_limit)
        # Twilio meters each sender separately (WhatsApp 80/s, a US long code 1/s, toll-free 3/s).
        self._sender_limits: dict[str, int] = {}
        self._sender_limiters: dict[str, _RateLimiter] = {}
        self.rejected_by_rate: dict[str, int] = {}

    def add_api_failure(self, script: _Script) -> None:
        with self._lock:
            self._api_failures.append(script)

    def add_delivery_failure(self, script: _Script) -> None:
        with self._lock:
            self._delivery_failures.append(script)

    def add_reply_fault(self, script: _Script) -> None:
        with self._lock:
            self._reply_faults.append(script)

    def add_list_failure(self, script: _Script) -> None:
        with self._lock:
            self._list_failures.append(script)

    def reply_fault(self, to: str) -> _Script | None:
        with self._lock:
            return _take_script(self._reply_faults, to)

    def list_failure(self, to: str) -> _Script | None:
        with self._lock:
            return _take_script(self._list_failures, to)

    def block(self, to: str, code: int) -> None:
        with self._lock:
            self._blocked[to] = code

    def unblock(self, to: str) -> None:
        with self._lock:
            self._blocked.pop(to, None)

    def set_rate_limit(self, per_second: int | None) -> None:
        with self._lock:
            self._limiter = _RateLimiter(per_second)

    def set_sender_rate_limit(self, sender: str, per_second: int | None) -> None:
        with self._lock:
            self._sender_limiters.pop(sender, None)
            if per_second is None:
                self._sender_limits.pop(sender, None)
            else:
                self._sender_limits[sender] = per_second

    def reset(self, rate_limit: int | None) -> None:
        with self._lock:
            self._api_failures.clear()
            self._delivery_failures.clear()
            self._reply_faults.clear()
            self._list_failures.clear()
            self._blocked.clear()
            self._limiter = _RateLimiter(rate_limit)
            self._sender_limits.clear()
            self._sender_limiters.clear()
            self.rejected_by_rate.clear()

    def check_create(self, to: str, sender: str = "", now: float | None = None) -> None:
        """Raise the error this create should get, or count it against the rate limits and return.

        Blocks and scripted failures come first: a request Twilio rejects never reaches the rate limiter.
        `now` (seconds) is the stub's clock when it was given one, so limits hold on virtual time too.
        """
        moment = time.monotonic() if now is None else now
        with self._lock:
            for pattern, code in self._blocked.items():
                if _recipient_matches(pattern, to):
                    raise _ApiError(code)
            script = _take_script(self._api_failures, to)
            if script is not None:
                raise _ApiError(script.code, script.message, script.status)
            if sender in self._sender_limits:
                limiter = self._sender_limiters.setdefault(sender, _RateLimiter(self._sender_limits[sender]))
                if not limiter.admit(moment):
                    self.rejected_by_rate[sender] = self.rejected_by_rate.get(sender, 0) + 1
                    raise _ApiError(20429)
            if not self._limiter.admit(moment):
                raise _ApiError(20429)

    def delivery_failure(self, to: str) -> _Script | None:
        with self._lock:
            return _take_script(self._delivery_failures, to)


def _take_script(scripts: list[_Script], to: str) -> _Script | None:
    for script in scripts:
        if script.take(to):
            if script.remaining == 0:
                scripts.remove(script)
            return script
    return None


# --------------------------------------------------------------------------------------------------
# Status callbacks
# --------------------------------------------------------------------------------------------------


@dataclass(order=True)
class _StatusEvent:
    """A status change to apply to a message (and announce by callback) once ``due`` is reached."""

    due: float
    seq: int
    sid: str = field(compare=False)
    status: str = field(compare=False)
    error_code: int | None = field(compare=False)
    url: str | None = field(compare=False)
    generation: int = field(compare=False)
    done: threading.Event = field(default_factory=threading.Event, compare=False)
    record: CallbackRecord | None = field(default=None, compare=False)


class _Delivery(NamedTuple):
    url: str
    params: dict[str, str]


class _CallbackDispatcher:
    """Applies status events and POSTs their callbacks from one background thread.

    One thread keeps a message's callbacks in the order they were scheduled and keeps the create handler
    from ever waiting on a slow receiver. ``resolve`` applies the status to the stored message and says
    where (if anywhere) to POST.
    """

    def __init__(
        self,
        *,
        auth_token: str,
        resolve: Callable[[_StatusEvent], _Delivery | None],
        timeout: float,
        name: str,
    ) -> None:
        self.journal: _Journal[CallbackRecord] = _Journal()
        self._auth_token = auth_token
        self._resolve = resolve
        self._timeout = timeout
        self._name = name
        self._cond = threading.Condition()
        self._queue: list[_StatusEvent] = []
        self._seq = itertools.count()
        self._generation = 0
        self._in_flight = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Drop pending events, let an in-flight POST finish (bounded by the HTTP timeout), join."""
        with self._cond:
            self._stopping = True
            self._queue.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(self._timeout + 1.0)
            self._thread = None

    def schedule(
        self, sid: str, status: str, error_code: int | None, *, delay: float = 0.0, url: str | None = None
    ) -> _StatusEvent:
        with self._cond:
            event = _StatusEvent(
                due=time.monotonic() + delay,
                seq=next(self._seq),
                sid=sid,
                status=status,
                error_code=error_code,
                url=url,
                generation=self._generation,
            )
            self._queue.append(event)
            self._queue.sort()
            self._cond.notify_all()
            return event

    def flush(self, timeout: float) -> bool:
        """Wait until nothing is queued or in flight."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and self._in_flight == 0, timeout)

    def reset(self) -> None:
        with self._cond:
            self._generation += 1
            self._queue.clear()
            self.journal.clear()
            self._cond.notify_all()

    def _run(self) -> None:
        with httpx.Client(timeout=self._timeout, trust_env=False) as client:
            while (event := self._next_event()) is not None:
                try:
                    event.record = self._deliver(event, client)
                finally:
                    self._finish(event)

    def _next_event(self) -> _StatusEvent | None:
        with self._cond:
            while not self._stopping:
                wait: float | None = None
                if self._queue:
                    wait = self._queue[0].due - time.monotonic()
                    if wait <= 0:
                        self._in_flight += 1
                        return self._queue.pop(0)
                self._cond.wait(wait)
            return None

    def _finish(self, event: _StatusEvent) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()
        event.done.set()

    def _deliver(self, event: _StatusEvent, client: httpx.Client) -> CallbackRecord | None:
        delivery = self._resolve(event)
        if delivery is None:
            return None
        signature = twilio_signature(delivery.url, delivery.params, self._auth_token)
        headers = {
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            "User-Agent": "TwilioProxy/1.1",
        }
        status_code: int | None = None
        error: str | None = None
        try:
            status_code = client.post(delivery.url, data=delivery.params, headers=headers).status_code
        except httpx.HTTPError as exc:
            # Twilio does not retry failed status callbacks either; record it for the test to inspect.
            error = f"{type(exc).__name__}: {exc}"
        record = CallbackRecord(
            sid=event.sid,
            status=event.status,
            url=delivery.url,
            params=delivery.params,
            signature=signature,
            status_code=status_code,
            error=error,
            sent_at=time.monotonic(),
        )
        with self._cond:
            if event.generation == self._generation:  # a reset() while in flight discards it
                self.journal.append(record)
        return record


def _status_callback_params(record: MessageRecord, status: str, error_code: int | None) -> dict[str, str]:
    params = {
        "AccountSid": record["account_sid"],
        "ApiVersion": API_VERSION,
        "From": record["from"] or "",
        "To": record["to"],
        "MessageSid": record["sid"],
        "MessageStatus": status,
        "SmsSid": record["sid"],
        "SmsStatus": status,
    }
    if record["messaging_service_sid"]:
        params["MessagingServiceSid"] = record["messaging_service_sid"]
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    if record["channel"] == "whatsapp":
        params["ChannelPrefix"] = "whatsapp"
        params["ChannelToAddress"] = _bare_number(record["to"])
    return params


# --------------------------------------------------------------------------------------------------
# Messages resource
# --------------------------------------------------------------------------------------------------


def _validate_create(form: Form) -> None:
    """Twilio's synchronous checks on a create, in the order Twilio reports them."""
    to = form.get("To", "").strip()
    if not to:
        raise _ApiError(21604)
    if not _E164.match(_bare_number(to)):
        raise _ApiError(21211, f"The 'To' number {to} is not a valid phone number.")
    sender = form.get("From", "").strip()
    if not sender and not form.get("MessagingServiceSid"):
        raise _ApiError(21603)
    if sender and _channel(sender) != _channel(to):
        raise _ApiError(21910)
    content_sid = form.get("ContentSid")
    if not form.get("Body") and not content_sid and not form.getlist("MediaUrl"):
        raise _ApiError(21602)
    if len(form.get("Body", "")) > _MAX_BODY:
        raise _ApiError(21617)
    if content_sid is not None and not _CONTENT_SID.match(content_sid):
        raise _ApiError(21655)
    variables = form.get("ContentVariables")
    if variables is not None and _parse_content_variables(variables) is None:
        raise _ApiError(21656)


def _new_message(form: Form, account_sid: str, now: datetime) -> MessageRecord:
    to = form["To"].strip()
    channel = _channel(to)
    body = form.get("Body", "")
    variables = form.get("ContentVariables")
    service_sid = form.get("MessagingServiceSid")
    return {
        "sid": _new_sid("SM"),
        "account_sid": account_sid,
        "to": to,
        "from": form.get("From") or None,
        "body": body,
        "channel": channel,
        "content_sid": form.get("ContentSid"),
        "content_variables": None if variables is None else _parse_content_variables(variables),
        "media_urls": form.getlist("MediaUrl"),
        "status_callback": form.get("StatusCallback") or None,
        "messaging_service_sid": service_sid,
        # Twilio answers "accepted" when a Messaging Service still has to pick the sender.
        "status": "accepted" if service_sid and not form.get("From") else "queued",
        "error_code": None,
        "num_segments": _num_segments(body, channel),
        "params": dict(form),
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "received_at": time.monotonic(),
    }


def _message_resource(record: MessageRecord) -> dict[str, Any]:
    """The JSON Twilio returns for a Message (create, fetch, and each item of a list)."""
    account_sid, sid = record["account_sid"], record["sid"]
    error_code = record["error_code"]
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": record["body"],
        "date_created": _rfc2822(record["date_created"]),
        "date_sent": _rfc2822(record["date_sent"]),
        "date_updated": _rfc2822(record["date_updated"]),
        "direction": "outbound-api",
        "error_code": error_code,
        "error_message": None if error_code is None else TWILIO_ERRORS.get(error_code, (0, None))[1],
        "from": record["from"],
        "messaging_service_sid": record["messaging_service_sid"],
        "num_media": str(len(record["media_urls"])),
        "num_segments": str(record["num_segments"]),
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": record["status"],
        "subresource_uris": {
            "media": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}/Media.json",
            "feedback": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}/Feedback.json",
        },
        "to": record["to"],
        "uri": _message_path(account_sid, sid),
    }


@dataclass(frozen=True)
class _DateWindow:
    """Inclusive bounds from DateSent / DateSent> / DateSent< (the client sends ``DateSent>=value``,
    i.e. key ``DateSent>``; Twilio treats both bounds as inclusive)."""

    earliest: datetime | None = None
    latest: datetime | None = None

    def contains(self, moment: datetime) -> bool:
        return (self.earliest is None or moment >= self.earliest) and (self.latest is None or moment <= self.latest)


def _parse_moment(value: str, *, end_of_day: bool) -> datetime:
    """A DateSent value: ``YYYY-MM-DD`` (a whole day) or an ISO 8601 time (the client sends
    ``%Y-%m-%dT%H:%M:%SZ``)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _ApiError(20001, f"Invalid DateSent value: {value}") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if len(value) == 10 and end_of_day:
        return moment + timedelta(days=1, microseconds=-1)
    return moment


def _date_window(query: Form) -> _DateWindow:
    earliest: list[datetime] = []
    latest: list[datetime] = []
    if (exact := query.get("DateSent")) is not None:
        earliest.append(_parse_moment(exact, end_of_day=False))
        latest.append(_parse_moment(exact, end_of_day=True))
    if (after := query.get("DateSent>")) is not None:
        earliest.append(_parse_moment(after, end_of_day=False))
    if (before := query.get("DateSent<")) is not None:
        latest.append(_parse_moment(before, end_of_day=True))
    return _DateWindow(max(earliest, default=None), min(latest, default=None))


def _sent_moment(record: MessageRecord) -> datetime:
    # Twilio filters on date_sent. Messages the stub never progressed (status mode off/manual) have none,
    # so fall back to date_created; truncate to seconds because that is all the client ever sees.
    return (record["date_sent"] or record["date_created"]).replace(microsecond=0)


def _positive_int(query: Form, key: str, default: int) -> int:
    raw = query.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _ApiError(20001, f"Invalid {key}: {raw}") from None
    if value < 0:
        raise _ApiError(20001, f"Invalid {key}: {raw}")
    return value


_FILTER_KEYS = ("To", "From", "DateSent", "DateSent>", "DateSent<")


def _list_page(records: list[MessageRecord], query: Form, account_sid: str) -> dict[str, Any]:
    """One page of messages, newest first, in Twilio's 2010 paging envelope.

    The envelope carries exactly one non-meta key ("messages"); twilio.base.page.Page relies on that.
    Page tokens are "PA" + the last SID of the previous page, so new messages arriving between two
    page requests do not shift the next page (Twilio's tokens behave the same way).
    """
    window = _date_window(query)
    matching = [
        record
        for record in reversed(records)
        if query.get("To") in (None, record["to"])
        and query.get("From") in (None, record["from"])
        and window.contains(_sent_moment(record))
    ]
    page_size = min(_positive_int(query, "PageSize", _DEFAULT_PAGE_SIZE) or _DEFAULT_PAGE_SIZE, _MAX_PAGE_SIZE)
    page = _positive_int(query, "Page", 0)
    start = _page_start(matching, query.get("PageToken"), page, page_size)
    items = matching[start : start + page_size]
    filters = [(key, value) for key in _FILTER_KEYS if (value := query.get(key)) is not None]
    base = _messages_path(account_sid)

    def page_uri(number: int, token: str | None = None) -> str:
        params = [*filters, ("PageSize", str(page_size)), ("Page", str(number))]
        if token is not None:
            params.append(("PageToken", token))
        return f"{base}?{urlencode(params)}"

    has_more = start + page_size < len(matching)
    return {
        "first_page_uri": page_uri(0),
        "end": start + max(len(items) - 1, 0),
        "previous_page_uri": page_uri(page - 1) if page > 0 else None,
        "messages": [_message_resource(record) for record in items],
        "uri": page_uri(page, query.get("PageToken")),
        "page_size": page_size,
        "start": start,
        "next_page_uri": page_uri(page + 1, "PA" + items[-1]["sid"]) if has_more and items else None,
        "page": page,
    }


def _page_start(matching: list[MessageRecord], token: str | None, page: int, page_size: int) -> int:
    if token and token.startswith("PA"):
        for index, record in enumerate(matching):
            if record["sid"] == token[2:]:
                return index + 1
    return page * page_size


# --------------------------------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------------------------------


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, separator, password = decoded.partition(":")
    return (username, password) if separator else None


def _parse_form(raw: bytes) -> Form:
    # parse_qsl keeps repeated keys (MediaUrl) and blank values (To=""), which request.form() also
    # would, but this needs no multipart parser and keeps exactly what the client sent.
    return ImmutableMultiDict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))


class _StubState:
    """Everything behind the HTTP endpoints: stored messages, policies, status progression."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        status_mode: StatusMode,
        status_delay: float,
        rate_limit: int | None,
        now: Callable[[], datetime],
        callback_timeout: float,
        name: str,
        own_clock: bool = False,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.status_mode: StatusMode = status_mode
        self.status_delay = status_delay
        self.default_rate_limit = rate_limit
        self.now = now
        self.own_clock = own_clock
        self.messages: _Journal[MessageRecord] = _Journal()
        self.requests: _Journal[RequestRecord] = _Journal()
        self.policies = _Policies(rate_limit)
        self.callbacks = _CallbackDispatcher(
            auth_token=auth_token,
            resolve=self.apply_status,
            timeout=callback_timeout,
            name=f"{name}-callbacks",
        )

    # ---- request handling -------------------------------------------------------------------------

    def authenticate(self, authorization: str | None, path_account_sid: str) -> None:
        credentials = _basic_credentials(authorization)
        if credentials is None or not (
            hmac.compare_digest(credentials[0], self.account_sid)
            and hmac.compare_digest(credentials[1], self.auth_token)
        ):
            raise _ApiError(20003, "Authenticate")
        if path_account_sid != self.account_sid:
            # Twilio hides other accounts' resources behind a 404 rather than a 403.
            raise _ApiError(20404, f"The requested resource {_messages_path(path_account_sid)} was not found")

    def create_message(self, form: Form) -> _Reply:
        _validate_create(form)
        to = form["To"].strip()
        sender = form.get("From", "").strip()
        self.policies.check_create(to, sender, self.now().timestamp() if self.own_clock else None)
        record = _new_message(form, self.account_sid, self._utcnow())
        self.messages.append(record)
        self._start_progression(record)
        fault = self.policies.reply_fault(to)
        if fault is None:
            return _Reply(201, _message_resource(record))
        return _Reply(201, _message_resource(record), fault=fault.fault, stall=fault.stall)

    def list_messages(self, query: Form) -> _Reply:
        failure = self.policies.list_failure(query.get("To", ""))
        if failure is not None and failure.code == 0:
            # A 200 whose body is not a page (code 0 asks for it): twilio's Page finds no records in it.
            return _Reply(200, {"uri": _messages_path(self.account_sid), "page": 0})
        if failure is not None:
            raise _ApiError(failure.code, failure.message, failure.status)
        return _Reply(200, _list_page(self.messages.snapshot(), query, self.account_sid))

    def fetch_message(self, sid: str) -> _Reply:
        record = self.find(sid)
        if record is None:
            path = _message_path(self.account_sid, sid)
            raise _ApiError(20404, f"The requested resource {path} was not found")
        return _Reply(200, _message_resource(record))

    # ---- messages and status ----------------------------------------------------------------------

    def find(self, sid: str) -> MessageRecord | None:
        return next((record for record in self.messages.snapshot() if record["sid"] == sid), None)

    def apply_status(self, event: _StatusEvent) -> _Delivery | None:
        """Called on the callback thread when an event is due: update the message, say where to POST."""
        now = self._utcnow()

        def change(record: MessageRecord) -> None:
            record["status"] = event.status
            record["date_updated"] = now
            if event.error_code is not None:
                record["error_code"] = event.error_code
            if event.status == "sent" and record["date_sent"] is None:
                record["date_sent"] = now

        record = self.messages.update(lambda item: item["sid"] == event.sid, change)
        if record is None or self.status_mode == "off":
            return None
        url = event.url or record["status_callback"]
        if not url:
            return None
        return _Delivery(url, _status_callback_params(record, event.status, event.error_code))

    def reset(self) -> None:
        self.callbacks.reset()
        self.messages.clear()
        self.requests.clear()
        self.policies.reset(self.default_rate_limit)

    def _start_progression(self, record: MessageRecord) -> None:
        """queued -> sent -> delivered (or a scripted failed/undelivered), one status_delay apart."""
        if self.status_mode != "auto":
            return
        failure = self.policies.delivery_failure(record["to"])
        final, error_code = ("delivered", None) if failure is None else (failure.final_status, failure.code)
        self.callbacks.schedule(record["sid"], "sent", None, delay=self.status_delay)
        self.callbacks.schedule(record["sid"], final, error_code, delay=2 * self.status_delay)

    def _utcnow(self) -> datetime:
        return self.now().astimezone(UTC)


class _FaultyResponse(JSONResponse):
    """The JSON answer, or, when the reply carries a fault, a late one or none at all."""

    def __init__(self, reply: _Reply, headers: dict[str, str]) -> None:
        super().__init__(reply.body, status_code=reply.status, headers=headers)
        self._fault, self._stall = reply.fault, reply.stall

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._fault == "stall":
            await asyncio.sleep(self._stall)  # the answer comes after the client gave up
        elif self._fault == "reset":
            _drop_connection(receive)
            return
        await super().__call__(scope, receive, send)


def _drop_connection(receive: Any) -> None:
    """Abort the TCP connection, so the client reads no answer at all. ASGI has no way to say this:
    it reaches uvicorn's transport through the `receive` callable uvicorn handed the app, and marks
    the request cycle disconnected so uvicorn writes nothing more on it."""
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("this server does not expose its connection: cannot drop it")
    transport.abort()
    cycle.disconnected = True  # type: ignore[union-attr]


def _build_app(state: _StubState) -> Starlette:
    def respond(request: Request, params: Form, operation: Callable[[], _Reply]) -> Response:
        try:
            state.authenticate(request.headers.get("authorization"), request.path_params["account_sid"])
            reply = operation()
        except _ApiError as error:
            reply = error.reply()
        state.requests.append(
            RequestRecord(
                method=request.method,
                path=request.url.path,
                params=dict(params),
                status=reply.status,
                error_code=reply.body.get("code") if reply.status >= 400 else None,
                received_at=time.monotonic(),
            )
        )
        headers = {"Twilio-Request-Id": _new_sid("RQ"), **reply.headers}
        return _FaultyResponse(reply, headers)

    async def create(request: Request) -> Response:
        form = _parse_form(await request.body())
        return respond(request, form, lambda: state.create_message(form))

    async def list_(request: Request) -> Response:
        query = ImmutableMultiDict(request.query_params.multi_items())
        return respond(request, query, lambda: state.list_messages(query))

    async def fetch(request: Request) -> Response:
        return respond(request, ImmutableMultiDict(), lambda: state.fetch_message(request.path_params["sid"]))

    async def not_found(request: Request, exc: Exception) -> Response:
        error = _ApiError(20404, f"The requested resource {request.url.path} was not found")
        return JSONResponse(error.reply().body, 404)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return JSONResponse(_ApiError(20004).reply().body, 405)

    messages = f"/{API_VERSION}/Accounts/{{account_sid}}/Messages"
    return Starlette(
        routes=[
            Route(f"{messages}.json", create, methods=["POST"]),
            Route(f"{messages}.json", list_, methods=["GET"]),
            Route(f"{messages}/{{sid}}.json", fetch, methods=["GET"]),
        ],
        exception_handlers={404: not_found, 405: not_allowed},
    )


# --------------------------------------------------------------------------------------------------
# Public facade
# --------------------------------------------------------------------------------------------------

_stub_ids = itertools.count(1)


class TwilioStub:
    """A Twilio Messages API on 127.0.0.1 for one account. Use as a context manager.

    status_mode:
      "auto"   - after a create, the message goes queued -> sent -> delivered (``status_delay`` seconds
                 apart), with a signed callback per step when the message has a StatusCallback.
      "manual" - messages stay as created; ``send_status`` drives them (out of order, twice, ...).
      "off"    - no callback is ever POSTed; ``send_status`` only changes the stored status.
    rate_limit: accepted messages per second before answering 429 / 20429 (None = unlimited); per sender
      with ``set_sender_rate_limit``.
    now: clock for date_created/date_sent (e.g. a VirtualClock's ``now``); defaults to the system clock.
    port: where to listen (0: any free port), e.g. an address a client was given while nothing listened.
    """

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        status_mode: StatusMode = "auto",
        status_delay: float = 0.0,
        rate_limit: int | None = None,
        now: Callable[[], datetime] | None = None,
        callback_timeout: float = 5.0,
        port: int = 0,
    ) -> None:
        _check_status_mode(status_mode)
        name = f"twilio-stub-{next(_stub_ids)}"
        self._state = _StubState(
            account_sid=account_sid,
            auth_token=auth_token,
            status_mode=status_mode,
            status_delay=status_delay,
            rate_limit=rate_limit,
            now=now or (lambda: datetime.now(UTC)),
            callback_timeout=callback_timeout,
            name=name,
            own_clock=now is not None,
        )
        self._server = ServerThread(_build_app(self._state), name=f"{name}-server", port=port)

    # ---- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        self._state.callbacks.start()
        try:
            self._server.start()
        except BaseException:
            self._state.callbacks.stop()
            raise

    def stop(self) -> None:
        """Stop accepting requests, then stop the callback thread (pending callbacks are dropped)."""
        try:
            self._server.stop()
        finally:
            self._state.callbacks.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def threads(self) -> list[threading.Thread]:
        """The stub's live threads (server, callbacks); empty once stopped."""
        candidates = (self._server.thread, self._state.callbacks.thread)
        return [thread for thread in candidates if thread is not None and thread.is_alive()]

    # ---- configuration -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: what replaces ``https://api.twilio.com``."""
        return self._server.url

    @property
    def account_sid(self) -> str:
        return self._state.account_sid

    @property
    def auth_token(self) -> str:
        return self._state.auth_token

    @property
    def messages_url(self) -> str:
        return self.url + _messages_path(self.account_sid)

    @property
    def status_mode(self) -> StatusMode:
        return self._state.status_mode

    @status_mode.setter
    def status_mode(self, mode: StatusMode) -> None:
        _check_status_mode(mode)
        self._state.status_mode = mode

    def set_rate_limit(self, per_second: int | None) -> None:
        """Change the rate limit until the next reset() (which restores the constructor's value)."""
        self._state.policies.set_rate_limit(per_second)

    def set_sender_rate_limit(self, sender: str, per_second: int | None) -> None:
        """At most ``per_second`` accepted messages from ``sender`` (its From, e.g. "whatsapp:+1415…") in
        any one-second window, else 429 / 20429. Measured on ``now`` when the stub was given a clock (a
        VirtualClock keeps it on virtual time). Until reset(); ``rejected_by_rate`` counts refusals."""
        self._state.policies.set_sender_rate_limit(sender, per_second)

    @property
    def rejected_by_rate(self) -> dict[str, int]:
        """Creates refused with 20429 by a per-sender limit, by sender."""
        return dict(self._state.policies.rejected_by_rate)

    # ---- scripted failures -------------------------------------------------------------------------

    def fail_next(
        self,
        code: int,
        status: int | None = None,
        times: int = 1,
        to: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``times`` valid creates (only those to ``to``, if given) with Twilio error
        ``code``. ``status`` defaults to Twilio's for that code (429 for 20429, 500 for 20500, else 400).
        Scripts are consumed in the order they were added."""
        self._state.policies.add_api_failure(_Script(code, times, to, status=status, message=message))

    def fail_delivery(self, code: int, status: str = "failed", times: int = 1, to: str | None = None) -> None:
        """Accept the next ``times`` messages (to ``to``, if given) but end their automatic progression
        in ``status`` ("failed" or "undelivered") with ErrorCode ``code``, as Twilio does for
        asynchronous failures such as 63016 or 30007. Only affects status_mode "auto"."""
        if status not in _FINAL_FAILURE_STATUSES:
            raise ValueError(f"status must be one of {_FINAL_FAILURE_STATUSES}, not {status!r}")
        self._state.policies.add_delivery_failure(_Script(code, times, to, final_status=status))

    def drop_reply(
        self, fault: ReplyFault = "reset", *, times: int = 1, to: str | None = None, stall: float = 2.0
    ) -> None:
        """Accept and record the next ``times`` valid creates (to ``to``, if given), then fail to answer:
        "reset" closes the connection without a reply, "stall" answers only after ``stall`` seconds, when
        a client with a shorter read timeout has given up. Either way the message exists, as it would at
        Twilio when the network fails after the request arrived."""
        if fault not in ("stall", "reset"):
            raise ValueError(f"fault must be 'stall' or 'reset', not {fault!r}")
        self._state.policies.add_reply_fault(_Script(0, times, to, fault=fault, stall=stall))

    def fail_next_list(
        self, code: int = 20503, times: int = 1, to: str | None = None, *, bad_page: bool = False
    ) -> None:
        """Answer the next ``times`` message lists (those filtered on To ``to``, if given) with Twilio
        error ``code`` (Twilio's 5xx on a list is what twilio-python reports as "Unable to fetch page"),
        or with ``bad_page`` a 200 whose body holds no page of records."""
        self._state.policies.add_list_failure(_Script(0 if bad_page else code, times, to))

    def block(self, to: str, code: int = 21610) -> None:
        """Fail every create to ``to`` with ``code`` until unblock()/reset(). A bare number also blocks
        its WhatsApp address."""
        self._state.policies.block(to, code)

    def unblock(self, to: str) -> None:
        self._state.policies.unblock(to)

    # ---- recorded traffic --------------------------------------------------------------------------

    @property
    def messages(self) -> list[MessageRecord]:
        """Accepted messages, oldest first (copies; current status included)."""
        return self._state.messages.snapshot()

    @property
    def requests(self) -> list[RequestRecord]:
        """Every API request, accepted or rejected, oldest first."""
        return self._state.requests.snapshot()

    @property
    def callbacks(self) -> list[CallbackRecord]:
        """Status callbacks POSTed so far, in the order they were sent."""
        return self._state.callbacks.journal.snapshot()

    def message(self, sid: str) -> MessageRecord:
        record = self._state.find(sid)
        if record is None:
            raise KeyError(sid)
        return record

    def wait_for(self, count: int, timeout: float = 5.0) -> list[MessageRecord]:
        """Block until at least ``count`` messages were accepted; return them all."""
        result = self._state.messages.wait_until(lambda items: items if len(items) >= count else None, timeout)
        if result is None:
            raise StubTimeout(_timeout_text(f"{count} message(s)", timeout, self.messages))
        return result

    def wait_for_message(self, predicate: Callable[[MessageRecord], bool], timeout: float = 5.0) -> MessageRecord:
        """Block until an accepted message (already there or yet to come) satisfies ``predicate``."""
        result = self._state.messages.wait_until(
            lambda items: next((item for item in items if predicate(item)), None), timeout
        )
        if result is None:
            raise StubTimeout(_timeout_text("a matching message", timeout, self.messages))
        return result

    def wait_for_callbacks(self, count: int, timeout: float = 5.0) -> list[CallbackRecord]:
        """Block until at least ``count`` status callbacks were POSTed; return them all."""
        journal = self._state.callbacks.journal
        result = journal.wait_until(lambda items: items if len(items) >= count else None, timeout)
        if result is None:
            raise StubTimeout(_timeout_text(f"{count} callback(s)", timeout, self.callbacks))
        return result

    def flush_callbacks(self, timeout: float = 5.0) -> None:
        """Block until every scheduled status change has been applied and its callback POSTed."""
        if not self._state.callbacks.flush(timeout):
            raise StubTimeout(f"status callbacks still pending after {timeout}s")

    def reset(self) -> None:
        """Forget messages, requests, callbacks, pending status changes, scripts, blocks and any
        set_rate_limit() change. The status mode is kept."""
        self._state.reset()

    # ---- status callbacks --------------------------------------------------------------------------

    def send_status(
        self,
        sid: str,
        status: str,
        error_code: int | None = None,
        *,
        url: str | None = None,
        wait: bool = True,
        timeout: float = 5.0,
    ) -> CallbackRecord | None:
        """Move message ``sid`` to ``status`` and POST the callback (to ``url`` or its StatusCallback).

        Nothing stops you from going backwards or repeating a status: that is the point. With ``wait``
        (default) this returns once the receiver answered, giving the CallbackRecord (None when nothing
        was POSTed: no callback URL, or status_mode "off").
        """
        if self._state.find(sid) is None:
            raise KeyError(sid)
        event = self._state.callbacks.schedule(sid, status, error_code, url=url)
        if not wait:
            return None
        if not event.done.wait(timeout):
            raise StubTimeout(f"callback {status} for {sid} not delivered within {timeout}s")
        return event.record

    # ---- inbound webhooks --------------------------------------------------------------------------

    def inbound_params(
        self,
        from_: str,
        to: str,
        body: str,
        channel: Literal["whatsapp", "sms"] = "whatsapp",
        sid: str | None = None,
        *,
        profile_name: str = "Test Lead",
        media_urls: Sequence[str] = (),
    ) -> dict[str, str]:
        """``inbound_params`` for this stub's account."""
        return inbound_params(
            from_,
            to,
            body,
            channel,
            sid,
            account_sid=self.account_sid,
            profile_name=profile_name,
            media_urls=media_urls,
        )

    @overload
    def post_inbound(
        self,
        webhook_url: str,
        params: Mapping[str, str],
        auth_token: str | None = ...,
        forge: bool = ...,
        *,
        client: None = ...,
    ) -> httpx.Response: ...

    @overload
    def post_inbound(
        self,
        webhook_url: str,
        params: Mapping[str, str],
        auth_token: str | None = ...,
        forge: bool = ...,
        *,
        client: FormPoster[_R],
    ) -> _R: ...

    def post_inbound(
        self,
        webhook_url: str,
        params: Mapping[str, str],
        auth_token: str | None = None,
        forge: bool = False,
        *,
        client: FormPoster[object] | None = None,
    ) -> object:
        """``post_inbound`` signed with this stub's auth token unless ``auth_token`` is given."""
        token = self.auth_token if auth_token is None else auth_token
        if client is None:
            return post_inbound(webhook_url, params, token, forge=forge)
        return post_inbound(webhook_url, params, token, forge=forge, client=client)


def _check_status_mode(mode: str) -> None:
    if mode not in _STATUS_MODES:
        raise ValueError(f"status_mode must be one of {_STATUS_MODES}, not {mode!r}")


def _timeout_text(wanted: str, timeout: float, seen: Sequence[Mapping[str, Any]]) -> str:
    lines = "\n".join(f"  {dict(item)}" for item in seen[-10:]) or "  (none)"
    return f"waited {timeout}s for {wanted}; have {len(seen)}, last ones:\n{lines}"
