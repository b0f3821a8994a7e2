"""The Twilio stub, driven by the real twilio 9 client (and raw HTTP where the wire format matters)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.support.server_thread import ServerThread
from tests.support.twilio_stub import (
    DEFAULT_ACCOUNT_SID,
    StubTimeout,
    TwilioStub,
    inbound_params,
    post_inbound,
    twilio_signature,
)

FROM_WA = "whatsapp:+15550001111"
FROM_SMS = "+15550001111"
LEAD = "+15551230001"
LEAD_WA = f"whatsapp:{LEAD}"
OTHER = "+15551230002"
CONTENT_SID = "HX" + "ab" * 16
SID_PATTERN = re.compile(r"^SM[0-9a-f]{32}$")


# --------------------------------------------------------------------------------------------------
# What Nudge does in production code: a TwilioHttpClient that sends api.twilio.com calls to the stub
# --------------------------------------------------------------------------------------------------


class StubRoutedHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no type hints
    """Keeps path and query, swaps the scheme and host (https://api.twilio.com) for the stub's."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self._base = urlsplit(base_url)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        target = urlsplit(url)._replace(scheme=self._base.scheme, netloc=self._base.netloc)
        return super().request(method, urlunsplit(target), *args, **kwargs)


def twilio_client(stub: TwilioStub, auth_token: str | None = None) -> Any:
    token = stub.auth_token if auth_token is None else auth_token
    return Client(stub.account_sid, token, http_client=StubRoutedHttpClient(stub.url))


# --------------------------------------------------------------------------------------------------
# A webhook receiver standing in for Nudge's status-callback / inbound endpoints
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    url: str
    form: dict[str, str]
    signature: str | None


class Receiver:
    """Records every POST; can answer with another status or hold requests until released."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._received: list[Received] = []
        self.status_code = 200
        self.released = threading.Event()
        self.arrived = threading.Event()
        self.reset()
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        self.server = ServerThread(app, name="test-receiver")

    @property
    def url(self) -> str:
        return self.server.url

    def reset(self) -> None:
        with self._cond:
            self._received.clear()
        self.status_code = 200
        self.released.set()
        self.arrived.clear()

    def hold(self) -> None:
        self.released.clear()

    def wait_for(self, count: int, timeout: float = 2.0) -> list[Received]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._received) >= count, timeout):
                raise AssertionError(f"expected {count} POSTs, got {self._received}")
            return list(self._received)

    async def _handle(self, request: Request) -> Response:
        self.arrived.set()
        deadline = time.monotonic() + 5.0  # never wedge the server if a test forgets to release
        # Polling on purpose: `released` is set from the test thread, and asyncio.Event is not thread-safe.
        while not self.released.is_set() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        form = await request.form()
        received = Received(
            url=str(request.url),
            form={key: str(value) for key, value in form.items()},
            signature=request.headers.get("X-Twilio-Signature"),
        )
        with self._cond:
            self._received.append(received)
            self._cond.notify_all()
        return Response(status_code=self.status_code)


def signature_is_valid(received: Received, auth_token: str) -> bool:
    """What Nudge's webhook does: validate the full URL it was called on plus the form params."""
    return bool(RequestValidator(auth_token).validate(received.url, received.form, received.signature or ""))


# --------------------------------------------------------------------------------------------------
# Fixtures: one stub and one receiver per module, reset between tests (starting servers costs ~0.1 s)
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_stub() -> Iterator[TwilioStub]:
    with TwilioStub() as stub:
        yield stub


@pytest.fixture
def stub(shared_stub: TwilioStub) -> Iterator[TwilioStub]:
    shared_stub.reset()
    shared_stub.status_mode = "auto"
    yield shared_stub
    shared_stub.flush_callbacks()


@pytest.fixture(scope="module")
def shared_client(shared_stub: TwilioStub) -> Any:
    return twilio_client(shared_stub)


@pytest.fixture
def client(stub: TwilioStub, shared_client: Any) -> Any:
    return shared_client


@pytest.fixture(scope="module")
def shared_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with receiver.server:
        yield receiver


@pytest.fixture
def receiver(shared_receiver: Receiver) -> Receiver:
    shared_receiver.reset()
    return shared_receiver


def raw_post(stub: TwilioStub, data: dict[str, str], auth: tuple[str, str] | None = None) -> httpx.Response:
    credentials = auth or (stub.account_sid, stub.auth_token)
    return httpx.post(stub.messages_url, data=data, auth=credentials, trust_env=False)


# --------------------------------------------------------------------------------------------------
# Create
# --------------------------------------------------------------------------------------------------


def test_create_text_message_returns_twilio_shaped_instance(stub: TwilioStub, client: Any) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    message = client.messages.create(to=LEAD_WA, from_=FROM_WA, body="Hi Ana, thanks for reaching out!")

    assert SID_PATTERN.match(message.sid)
    assert message.status == "queued"
    assert (message.to, message.from_, message.body) == (LEAD_WA, FROM_WA, "Hi Ana, thanks for reaching out!")
    assert message.num_segments == "1"
    assert message.direction == "outbound-api"
    assert message.account_sid == stub.account_sid
    assert before <= message.date_created <= datetime.now(UTC)
    assert message.date_sent is None
    assert message.uri == f"/2010-04-01/Accounts/{stub.account_sid}/Messages/{message.sid}.json"

    [record] = stub.wait_for(1, timeout=1.0)
    assert record["sid"] == message.sid
    assert record["channel"] == "whatsapp"
    assert record["params"] == {"To": LEAD_WA, "From": FROM_WA, "Body": "Hi Ana, thanks for reaching out!"}


def test_create_with_content_template(stub: TwilioStub, client: Any) -> None:
    variables = json.dumps({"1": "Ana", "2": "Tuesday 10:00"})
    message = client.messages.create(
        to=LEAD_WA, from_=FROM_WA, content_sid=CONTENT_SID, content_variables=variables
    )

    record = stub.message(message.sid)
    assert record["content_sid"] == CONTENT_SID
    assert record["content_variables"] == {"1": "Ana", "2": "Tuesday 10:00"}
    assert record["params"]["ContentVariables"] == variables
    assert record["body"] == ""


def test_create_keeps_every_media_url(stub: TwilioStub, client: Any) -> None:
    urls = ["https://example.test/a.jpg", "https://example.test/b.jpg"]
    message = client.messages.create(to=LEAD, from_=FROM_SMS, media_url=urls)

    assert message.num_media == "2"
    assert stub.message(message.sid)["media_urls"] == urls


def test_messaging_service_without_from_is_accepted(stub: TwilioStub, client: Any) -> None:
    message = client.messages.create(to=LEAD, messaging_service_sid="MG" + "0" * 32, body="Hi")

    assert message.status == "accepted"
    assert message.from_ is None


@pytest.mark.parametrize(
    ("to", "body", "segments"),
    [
        (LEAD, "a" * 160, "1"),
        (LEAD, "a" * 161, "2"),
        (LEAD, "{" * 80, "1"),  # extended GSM characters take two septets each
        (LEAD, "{" * 81, "2"),
        (LEAD, "ж" * 70, "1"),  # outside GSM-7: UCS-2, 70 per single part
        (LEAD, "ж" * 71, "2"),
        (LEAD_WA, "a" * 1000, "1"),  # WhatsApp messages are not segmented
    ],
)
def test_num_segments(client: Any, to: str, body: str, segments: str) -> None:
    sender = FROM_WA if to.startswith("whatsapp:") else FROM_SMS
    assert client.messages.create(to=to, from_=sender, body=body).num_segments == segments


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"From": FROM_SMS, "Body": "x"}, 21604),
        ({"To": "", "From": FROM_SMS, "Body": "x"}, 21604),
        ({"To": "5551230001", "From": FROM_SMS, "Body": "x"}, 21211),
        ({"To": LEAD, "Body": "x"}, 21603),
        ({"To": LEAD, "From": FROM_SMS}, 21602),
        ({"To": LEAD, "From": FROM_SMS, "Body": ""}, 21602),
        ({"To": LEAD_WA, "From": FROM_SMS, "Body": "x"}, 21910),
        ({"To": LEAD, "From": FROM_SMS, "Body": "x" * 1601}, 21617),
        ({"To": LEAD_WA, "From": FROM_WA, "ContentSid": "nope"}, 21655),
        ({"To": LEAD_WA, "From": FROM_WA, "ContentSid": CONTENT_SID, "ContentVariables": "{"}, 21656),
    ],
)
def test_validation_errors_use_twilio_error_json(stub: TwilioStub, form: dict[str, str], code: int) -> None:
    response = raw_post(stub, form)

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert body["code"] == code
    assert body["status"] == 400
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert stub.messages == []


def test_validation_error_raises_in_client(client: Any) -> None:
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to=LEAD, from_=FROM_SMS)

    assert (raised.value.code, raised.value.status) == (21602, 400)
    assert "Message body is required." in raised.value.msg


# --------------------------------------------------------------------------------------------------
# Auth and routing
# --------------------------------------------------------------------------------------------------


def test_wrong_credentials_get_401_20003(stub: TwilioStub) -> None:
    with pytest.raises(TwilioRestException) as raised:
        twilio_client(stub, auth_token="wrong").messages.create(to=LEAD, from_=FROM_SMS, body="x")
    assert (raised.value.code, raised.value.status) == (20003, 401)

    response = httpx.post(stub.messages_url, data={"To": LEAD}, trust_env=False)
    assert response.status_code == 401
    assert response.json()["code"] == 20003
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert [request["status"] for request in stub.requests] == [401, 401]


def test_other_accounts_path_is_not_found(stub: TwilioStub) -> None:
    other_path = stub.messages_url.replace(stub.account_sid, "AC" + "f" * 32)
    response = httpx.get(other_path, auth=(stub.account_sid, stub.auth_token), trust_env=False)

    assert response.status_code == 404
    assert response.json()["code"] == 20404


def test_unknown_route_and_method_answer_twilio_json(stub: TwilioStub) -> None:
    auth = (stub.account_sid, stub.auth_token)
    missing = httpx.get(
        f"{stub.url}/2010-04-01/Accounts/{stub.account_sid}/Calls.json", auth=auth, trust_env=False
    )
    wrong_method = httpx.delete(stub.messages_url, auth=auth, trust_env=False)

    assert (missing.status_code, missing.json()["code"]) == (404, 20404)
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, 20004)


# --------------------------------------------------------------------------------------------------
# Fetch and list
# --------------------------------------------------------------------------------------------------


def test_fetch_returns_current_status(stub: TwilioStub, client: Any) -> None:
    sid = client.messages.create(to=LEAD, from_=FROM_SMS, body="Hi").sid
    stub.flush_callbacks()

    fetched = client.messages(sid).fetch()

    assert (fetched.sid, fetched.status, fetched.body) == (sid, "delivered", "Hi")
    assert fetched.date_sent is not None


def test_fetch_unknown_sid_raises_20404(client: Any) -> None:
    with pytest.raises(TwilioRestException) as raised:
        client.messages("SM" + "0" * 32).fetch()

    assert (raised.value.code, raised.value.status) == (20404, 404)


def test_list_filters_by_to_and_from_newest_first(client: Any) -> None:
    client.messages.create(to=LEAD, from_=FROM_SMS, body="one")
    client.messages.create(to=OTHER, from_=FROM_SMS, body="other")
    client.messages.create(to=LEAD, from_=FROM_SMS, body="two")
    client.messages.create(to=LEAD_WA, from_=FROM_WA, body="wa")

    assert [m.body for m in client.messages.list(to=LEAD)] == ["two", "one"]
    assert [m.body for m in client.messages.list(from_=FROM_WA)] == ["wa"]
    assert [m.body for m in client.messages.list(to=LEAD, from_=FROM_SMS, limit=1)] == ["two"]
    assert len(client.messages.list()) == 4


def test_list_follows_next_page_uri(stub: TwilioStub, client: Any) -> None:
    for index in range(5):
        client.messages.create(to=LEAD, from_=FROM_SMS, body=f"m{index}")

    bodies = [m.body for m in client.messages.list(to=LEAD, page_size=2)]

    assert bodies == ["m4", "m3", "m2", "m1", "m0"]
    pages = [request for request in stub.requests if request["method"] == "GET"]
    assert [request["params"].get("Page") for request in pages] == [None, "1", "2"]
    assert all(request["params"]["To"] == LEAD for request in pages)
    assert pages[1]["params"]["PageToken"].startswith("PASM")


def test_list_envelope_has_twilio_paging_keys(stub: TwilioStub, client: Any) -> None:
    client.messages.create(to=LEAD, from_=FROM_SMS, body="x")
    response = httpx.get(
        stub.messages_url, params={"PageSize": "1"}, auth=(stub.account_sid, stub.auth_token), trust_env=False
    )

    body = response.json()
    assert set(body) == {
        "messages",
        "first_page_uri",
        "next_page_uri",
        "previous_page_uri",
        "uri",
        "page",
        "page_size",
        "start",
        "end",
    }
    assert (body["page"], body["page_size"], body["next_page_uri"]) == (0, 1, None)


def test_list_filters_by_date_sent_as_the_client_sends_it() -> None:
    clock = [datetime(2025, 3, 1, 9, 0, tzinfo=UTC)]
    with TwilioStub(status_mode="manual", now=lambda: clock[0]) as stub:
        client = twilio_client(stub)
        for hour, body in [(9, "nine"), (10, "ten"), (11, "eleven")]:
            clock[0] = datetime(2025, 3, 1, hour, 0, 30, tzinfo=UTC)
            client.messages.create(to=LEAD, from_=FROM_SMS, body=body)
        clock[0] = datetime(2025, 3, 2, 8, 0, tzinfo=UTC)
        client.messages.create(to=LEAD, from_=FROM_SMS, body="next day")

        ten = datetime(2025, 3, 1, 10, 0, 30, tzinfo=UTC)
        assert [m.body for m in client.messages.list(date_sent_after=ten)] == ["next day", "eleven", "ten"]
        assert [m.body for m in client.messages.list(date_sent_before=ten)] == ["ten", "nine"]
        assert [m.body for m in client.messages.list(date_sent=ten)] == ["ten"]
        in_window = client.messages.list(
            to=LEAD, date_sent_after=ten, date_sent_before=ten + timedelta(hours=1)
        )
        assert [m.body for m in in_window] == ["eleven", "ten"]
        assert "DateSent>" in stub.requests[-1]["params"]  # the key the client really sends


def test_list_accepts_date_only_filters(stub: TwilioStub) -> None:
    today = datetime.now(UTC).date()
    raw_post(stub, {"To": LEAD, "From": FROM_SMS, "Body": "x"})
    auth = (stub.account_sid, stub.auth_token)

    def count(params: dict[str, str]) -> int:
        response = httpx.get(stub.messages_url, params=params, auth=auth, trust_env=False)
        return len(response.json()["messages"])

    assert count({"DateSent": str(today)}) == 1
    assert count({"DateSent<": str(today)}) == 1
    assert count({"DateSent>": str(today + timedelta(days=1))}) == 0
    bad = httpx.get(stub.messages_url, params={"DateSent>": "soon"}, auth=auth, trust_env=False)
    assert (bad.status_code, bad.json()["code"]) == (400, 20001)


# --------------------------------------------------------------------------------------------------
# Scripted failures, blocks, rate limit
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "expected_status"),
    [
        (21610, None, 400),  # unsubscribed recipient
        (63016, None, 400),  # outside the WhatsApp 24 h window
        (63003, None, 400),
        (63024, None, 400),
        (20429, None, 429),  # too many requests
        (20500, None, 500),  # server error
        (30008, 503, 503),  # explicit status wins
    ],
)
def test_fail_next_raises_twilio_rest_exception_once(
    stub: TwilioStub, client: Any, code: int, status: int | None, expected_status: int
) -> None:
    stub.fail_next(code, status=status)

    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to=LEAD_WA, from_=FROM_WA, body="Hi")
    assert (raised.value.code, raised.value.status) == (code, expected_status)

    assert client.messages.create(to=LEAD_WA, from_=FROM_WA, body="Hi").status == "queued"
    assert [(r["status"], r["error_code"]) for r in stub.requests] == [(expected_status, code), (201, None)]
    assert len(stub.messages) == 1


def test_fail_next_for_one_recipient_several_times(stub: TwilioStub, client: Any) -> None:
    stub.fail_next(63016, times=2, to=LEAD_WA, message="custom text")

    for _ in range(2):
        with pytest.raises(TwilioRestException) as raised:
            client.messages.create(to=LEAD_WA, from_=FROM_WA, body="Hi")
        assert raised.value.code == 63016
        assert "custom text" in raised.value.msg
        client.messages.create(to=f"whatsapp:{OTHER}", from_=FROM_WA, body="unaffected")

    client.messages.create(to=LEAD_WA, from_=FROM_WA, body="third time")
    assert [m["body"] for m in stub.messages] == ["unaffected", "unaffected", "third time"]


def test_block_fails_recipient_until_unblocked(stub: TwilioStub, client: Any) -> None:
    stub.block(LEAD)  # a bare number covers its WhatsApp address too
    stub.block(f"whatsapp:{OTHER}", code=63024)  # a channel address covers only that channel

    for to, sender in [(LEAD, FROM_SMS), (LEAD_WA, FROM_WA), (LEAD_WA, FROM_WA)]:
        with pytest.raises(TwilioRestException) as raised:
            client.messages.create(to=to, from_=sender, body="x")
        assert raised.value.code == 21610
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to=f"whatsapp:{OTHER}", from_=FROM_WA, body="x")
    assert raised.value.code == 63024
    client.messages.create(to=OTHER, from_=FROM_SMS, body="sms still fine")

    stub.unblock(LEAD)
    client.messages.create(to=LEAD_WA, from_=FROM_WA, body="back")
    assert [m["body"] for m in stub.messages] == ["sms still fine", "back"]


def test_rate_limit_answers_429_then_recovers(stub: TwilioStub, client: Any) -> None:
    stub.set_rate_limit(2)
    client.messages.create(to=LEAD, from_=FROM_SMS, body="1")
    client.messages.create(to=LEAD, from_=FROM_SMS, body="2")

    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to=LEAD, from_=FROM_SMS, body="3")
    assert (raised.value.code, raised.value.status) == (20429, 429)

    time.sleep(1.05)  # the window is one second
    client.messages.create(to=LEAD, from_=FROM_SMS, body="3 again")
    stub.set_rate_limit(None)
    for index in range(5):
        client.messages.create(to=LEAD, from_=FROM_SMS, body=f"burst {index}")
    assert len(stub.messages) == 8


def test_rate_limit_from_constructor_survives_reset() -> None:
    with TwilioStub(rate_limit=1) as stub:
        client = twilio_client(stub)
        client.messages.create(to=LEAD, from_=FROM_SMS, body="1")
        stub.reset()
        client.messages.create(to=LEAD, from_=FROM_SMS, body="after reset")
        with pytest.raises(TwilioRestException) as raised:
            client.messages.create(to=LEAD, from_=FROM_SMS, body="too fast")
        assert raised.value.status == 429


def test_reset_forgets_messages_and_scripts(stub: TwilioStub, client: Any) -> None:
    client.messages.create(to=LEAD, from_=FROM_SMS, body="x")
    stub.fail_next(20500)
    stub.block(OTHER)
    stub.set_rate_limit(1)

    stub.reset()

    assert (stub.messages, stub.requests, stub.callbacks) == ([], [], [])
    client.messages.create(to=OTHER, from_=FROM_SMS, body="1")
    client.messages.create(to=OTHER, from_=FROM_SMS, body="2")
    assert len(stub.messages) == 2


# --------------------------------------------------------------------------------------------------
# Waiting helpers
# --------------------------------------------------------------------------------------------------


def test_wait_for_message_sees_messages_sent_from_another_thread(stub: TwilioStub) -> None:
    sender = threading.Timer(0.05, raw_post, args=(stub, {"To": LEAD, "From": FROM_SMS, "Body": "later"}))
    sender.start()
    try:
        record = stub.wait_for_message(lambda m: m["body"] == "later", timeout=1.0)
    finally:
        sender.join()

    assert record["to"] == LEAD
    assert stub.wait_for(1, timeout=0.01)[0]["sid"] == record["sid"]


def test_wait_helpers_time_out_with_a_failure(stub: TwilioStub) -> None:
    raw_post(stub, {"To": LEAD, "From": FROM_SMS, "Body": "only one"})

    with pytest.raises(StubTimeout, match="have 1"):
        stub.wait_for(2, timeout=0.05)
    with pytest.raises(StubTimeout):
        stub.wait_for_message(lambda m: m["to"] == OTHER, timeout=0.05)
    assert isinstance(StubTimeout("x"), AssertionError)


def test_records_are_copies(stub: TwilioStub, client: Any) -> None:
    stub.status_mode = "manual"
    sid = client.messages.create(to=LEAD, from_=FROM_SMS, body="x").sid
    held = stub.message(sid)

    stub.send_status(sid, "delivered")

    assert held["status"] == "queued"
    assert stub.message(sid)["status"] == "delivered"


# --------------------------------------------------------------------------------------------------
# Status callbacks
# --------------------------------------------------------------------------------------------------


def test_auto_progression_posts_signed_callbacks(stub: TwilioStub, client: Any, receiver: Receiver) -> None:
    callback_url = f"{receiver.url}/twilio/status?lead=42"
    message = client.messages.create(to=LEAD_WA, from_=FROM_WA, body="Hi", status_callback=callback_url)

    sent, delivered = receiver.wait_for(2)

    assert [sent.form["MessageStatus"], delivered.form["MessageStatus"]] == ["sent", "delivered"]
    for received in (sent, delivered):
        assert received.url == callback_url
        assert signature_is_valid(received, stub.auth_token)
        assert not signature_is_valid(received, "some-other-token")
        assert received.form["MessageSid"] == message.sid
        assert received.form["AccountSid"] == stub.account_sid
        assert (received.form["To"], received.form["From"]) == (LEAD_WA, FROM_WA)
        assert received.form["ChannelPrefix"] == "whatsapp"
        assert "ErrorCode" not in received.form
    stub.flush_callbacks()
    assert [c["status_code"] for c in stub.callbacks] == [200, 200]
    assert client.messages(message.sid).fetch().status == "delivered"


def test_sms_callbacks_have_no_channel_prefix(stub: TwilioStub, client: Any, receiver: Receiver) -> None:
    client.messages.create(to=LEAD, from_=FROM_SMS, body="Hi", status_callback=f"{receiver.url}/status")

    sent, _ = receiver.wait_for(2)

    assert "ChannelPrefix" not in sent.form
    assert sent.form["SmsStatus"] == "sent"


def test_fail_delivery_ends_in_failed_callback_with_error_code(
    stub: TwilioStub, client: Any, receiver: Receiver
) -> None:
    stub.fail_delivery(63016, to=LEAD_WA)
    sid = client.messages.create(
        to=LEAD_WA, from_=FROM_WA, body="Hi", status_callback=f"{receiver.url}/s"
    ).sid

    sent, failed = receiver.wait_for(2)

    assert sent.form["MessageStatus"] == "sent"
    assert (failed.form["MessageStatus"], failed.form["ErrorCode"]) == ("failed", "63016")
    stub.flush_callbacks()
    fetched = client.messages(sid).fetch()
    assert (fetched.status, fetched.error_code) == ("failed", 63016)
    assert "outside the allowed window" in fetched.error_message


def test_manual_mode_sends_out_of_order_and_duplicate_callbacks(
    stub: TwilioStub, client: Any, receiver: Receiver
) -> None:
    stub.status_mode = "manual"
    sid = client.messages.create(to=LEAD, from_=FROM_SMS, body="Hi", status_callback=f"{receiver.url}/s").sid
    stub.flush_callbacks()
    assert stub.callbacks == []

    records = [
        stub.send_status(sid, "delivered"),
        stub.send_status(sid, "sent"),
        stub.send_status(sid, "delivered"),
        stub.send_status(sid, "undelivered", error_code=30003),
    ]

    received = receiver.wait_for(4)
    assert [r.form["MessageStatus"] for r in received] == ["delivered", "sent", "delivered", "undelivered"]
    assert received[-1].form["ErrorCode"] == "30003"
    assert all(signature_is_valid(r, stub.auth_token) for r in received)
    assert [record["status_code"] if record else None for record in records] == [200, 200, 200, 200]
    assert [record["signature"] for record in records if record] == [r.signature for r in received]
    assert stub.message(sid)["status"] == "undelivered"


def test_send_status_can_target_any_url(stub: TwilioStub, client: Any, receiver: Receiver) -> None:
    stub.status_mode = "manual"
    sid = client.messages.create(to=LEAD, from_=FROM_SMS, body="no callback url").sid

    assert stub.send_status(sid, "sent") is None  # nowhere to post
    record = stub.send_status(sid, "delivered", url=f"{receiver.url}/elsewhere")

    assert record is not None and record["status_code"] == 200
    assert receiver.wait_for(1)[0].form["MessageStatus"] == "delivered"
    with pytest.raises(KeyError):
        stub.send_status("SM" + "0" * 32, "sent")


def test_off_mode_posts_nothing_but_tracks_status(stub: TwilioStub, client: Any, receiver: Receiver) -> None:
    stub.status_mode = "off"
    sid = client.messages.create(to=LEAD, from_=FROM_SMS, body="x", status_callback=f"{receiver.url}/s").sid

    assert stub.send_status(sid, "delivered") is None
    stub.flush_callbacks()

    assert stub.callbacks == []
    assert stub.message(sid)["status"] == "delivered"
    assert not receiver.arrived.is_set()
    with pytest.raises(ValueError, match="status_mode"):
        stub.status_mode = "sometimes"  # type: ignore[assignment]


def test_receiver_errors_are_recorded_not_raised(stub: TwilioStub, client: Any, receiver: Receiver) -> None:
    stub.status_mode = "manual"
    receiver.status_code = 500
    sid = client.messages.create(to=LEAD, from_=FROM_SMS, body="x", status_callback=f"{receiver.url}/s").sid

    answered = stub.send_status(sid, "sent")
    unreachable = stub.send_status(sid, "delivered", url="http://127.0.0.1:1/closed")

    assert answered is not None and answered["status_code"] == 500
    assert unreachable is not None and unreachable["status_code"] is None
    assert unreachable["error"] is not None and "ConnectError" in unreachable["error"]


def test_slow_callback_receiver_does_not_delay_creates(
    stub: TwilioStub, client: Any, receiver: Receiver
) -> None:
    receiver.hold()
    client.messages.create(to=LEAD, from_=FROM_SMS, body="1", status_callback=f"{receiver.url}/s")
    assert receiver.arrived.wait(1.0)  # the callback thread is now stuck in the receiver

    started = time.monotonic()
    client.messages.create(to=LEAD, from_=FROM_SMS, body="2", status_callback=f"{receiver.url}/s")
    elapsed = time.monotonic() - started

    assert elapsed < 0.5
    assert stub.callbacks == []
    receiver.released.set()
    assert [c["status"] for c in stub.wait_for_callbacks(4)] == ["sent", "delivered", "sent", "delivered"]


# --------------------------------------------------------------------------------------------------
# Inbound webhooks
# --------------------------------------------------------------------------------------------------


def test_inbound_params_for_whatsapp() -> None:
    params = inbound_params(LEAD, "+15550001111", "Hola!", sid="SM" + "1" * 32, profile_name="Ana")

    assert params == {
        "MessageSid": "SM" + "1" * 32,
        "SmsMessageSid": "SM" + "1" * 32,
        "SmsSid": "SM" + "1" * 32,
        "AccountSid": DEFAULT_ACCOUNT_SID,
        "From": LEAD_WA,
        "To": FROM_WA,
        "Body": "Hola!",
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
        "ProfileName": "Ana",
        "WaId": "15551230001",
        "MessageType": "text",
        "ReferralNumMedia": "0",
    }


def test_inbound_params_for_sms_with_media(stub: TwilioStub) -> None:
    params = stub.inbound_params(LEAD_WA, FROM_SMS, "pic", channel="sms", media_urls=["https://m.test/1"])

    assert (params["From"], params["To"], params["AccountSid"]) == (LEAD, FROM_SMS, stub.account_sid)
    assert SID_PATTERN.match(params["MessageSid"])
    assert (params["NumMedia"], params["MediaUrl0"]) == ("1", "https://m.test/1")
    assert "WaId" not in params and "ProfileName" not in params


def test_post_inbound_is_signed_like_twilio(stub: TwilioStub, receiver: Receiver) -> None:
    url = f"{receiver.url}/webhooks/twilio?tenant=acme"
    params = stub.inbound_params(LEAD, FROM_WA, "I want a quote")

    genuine = stub.post_inbound(url, params)
    forged = stub.post_inbound(url, params, forge=True)
    other_token = stub.post_inbound(url, params, auth_token="another-token")

    assert genuine.status_code == 200
    first, second, third = receiver.wait_for(3)
    assert first.form == params
    assert first.signature == twilio_signature(url, params, stub.auth_token)
    assert signature_is_valid(first, stub.auth_token)
    assert not signature_is_valid(second, stub.auth_token)
    assert signature_is_valid(third, "another-token")
    assert forged.status_code == other_token.status_code == 200  # the receiver itself does not check


def test_post_inbound_works_with_starlette_test_client() -> None:
    seen: list[bool] = []

    async def webhook(request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}
        signature = request.headers.get("X-Twilio-Signature", "")
        valid = RequestValidator("token").validate(str(request.url), form, signature)
        seen.append(bool(valid))
        return Response(status_code=204 if valid else 403)

    app = Starlette(routes=[Route("/webhook", webhook, methods=["POST"])])
    params = inbound_params(LEAD, FROM_WA, "hi")
    with TestClient(app) as test_client:
        ok = post_inbound("http://testserver/webhook", params, "token", client=test_client)
        rejected = post_inbound("http://testserver/webhook", params, "token", forge=True, client=test_client)

    assert (ok.status_code, rejected.status_code) == (204, 403)
    assert seen == [True, False]


# --------------------------------------------------------------------------------------------------
# Lifecycle
# --------------------------------------------------------------------------------------------------


def test_several_stubs_run_side_by_side_and_stop_cleanly() -> None:
    first = TwilioStub()
    second = TwilioStub(account_sid="AC" + "2" * 32, auth_token="second-token")
    with first, second:
        assert first.url != second.url
        twilio_client(first).messages.create(to=LEAD, from_=FROM_SMS, body="to first")
        twilio_client(second).messages.create(to=LEAD, from_=FROM_SMS, body="to second")
        with pytest.raises(TwilioRestException) as raised:
            Client(
                first.account_sid, first.auth_token, http_client=StubRoutedHttpClient(second.url)
            ).messages.create(to=LEAD, from_=FROM_SMS, body="wrong account")
        assert raised.value.code == 20003
        assert [m["body"] for m in first.messages] == ["to first"]
        assert [m["body"] for m in second.messages] == ["to second"]
        threads = first.threads + second.threads
        assert len(threads) == 4

    assert first.threads == [] and second.threads == []
    assert not any(thread.is_alive() for thread in threads)
    with pytest.raises(RuntimeError, match="not running"):
        _ = first.url


def test_stop_with_pending_delayed_callbacks_is_prompt(receiver: Receiver) -> None:
    with TwilioStub(status_delay=30.0) as stub:
        twilio_client(stub).messages.create(
            to=LEAD, from_=FROM_SMS, body="x", status_callback=f"{receiver.url}/s"
        )
        started = time.monotonic()
    assert time.monotonic() - started < 2.0
    assert stub.threads == []
    assert not receiver.arrived.is_set()
