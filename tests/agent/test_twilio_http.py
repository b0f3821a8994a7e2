"""The Twilio HTTP client: proxy settings read once, when it is built, and still honoured; what it
sends and how it fails, against the local Twilio stand-in."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest

from agent.channels.base import ChannelError, OutboundMessage
from agent.channels.twilio import PooledHttpClient, TwilioChannel, make_twilio_client
from tests.support.twilio_stub import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, TwilioStub


def _proxy(api_url: str) -> str | None:
    http_client = make_twilio_client("AC" + "0" * 32, "token", api_url).http_client
    assert isinstance(http_client, PooledHttpClient)
    return http_client.proxy


def _set_proxy_env(monkeypatch: pytest.MonkeyPatch, no_proxy: str) -> None:
    for name in ("http_proxy", "https_proxy"):  # lower case wins in urllib, so set both spellings
        monkeypatch.setenv(name, "http://proxy.internal:3128")
        monkeypatch.setenv(name.upper(), "http://proxy.internal:3128")
    monkeypatch.setenv("no_proxy", no_proxy)
    monkeypatch.setenv("NO_PROXY", no_proxy)


def test_environment_proxies_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_proxy_env(monkeypatch, "")
    assert _proxy("") == "http://proxy.internal:3128"
    assert _proxy("http://twilio-stand-in.example:8080") == "http://proxy.internal:3128"


def test_no_proxy_still_bypasses(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_proxy_env(monkeypatch, "127.0.0.1,localhost")
    assert _proxy("http://127.0.0.1:8080") is None


def _message(to: str = "+15551230001", body: str = "Olá! 50% off & more: café?") -> OutboundMessage:
    return OutboundMessage(
        message_id="msg_1",
        channel="whatsapp",
        to=to,
        sender="+14155550100",
        body=body,
        status_callback="https://nudge.example/webhooks/twilio/status",
    )


def test_a_send_reaches_the_stand_in_as_twilio_would_get_it() -> None:
    with TwilioStub(status_mode="off") as stub:
        channel = TwilioChannel("whatsapp", make_twilio_client(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, stub.url))
        sent = channel.send(_message())
        received = stub.wait_for(1)[0]
        assert received["sid"] == sent.provider_id and sent.status == "queued"
        assert received["to"] == "whatsapp:+15551230001" and received["from"] == "whatsapp:+14155550100"
        assert received["body"] == "Olá! 50% off & more: café?"
        assert received["status_callback"] == "https://nudge.example/webhooks/twilio/status"
        found = channel.find_sent(_message(), datetime.now(UTC) - timedelta(minutes=1))  # a GET with a query
        assert found is not None and found.provider_id == sent.provider_id


def test_a_refusal_is_twilios_error_and_a_dead_endpoint_a_network_retry() -> None:
    with TwilioStub(status_mode="off") as stub:
        channel = TwilioChannel("whatsapp", make_twilio_client(DEFAULT_ACCOUNT_SID, "wrong token", stub.url))
        with pytest.raises(ChannelError) as refused:
            channel.send(_message())
        assert refused.value.code == "20003"  # authentication failed
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    channel = TwilioChannel("whatsapp", make_twilio_client(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, dead))
    with pytest.raises(ChannelError) as unreachable:
        channel.send(_message())
    assert unreachable.value.code == "network" and unreachable.value.action == "retry"


@pytest.mark.parametrize("fault", ["stall", "reset"])
def test_no_answer_to_a_sent_create_is_unconfirmed_and_the_message_is_found(fault: str) -> None:
    # Twilio created the message, then the answer timed out or the connection dropped: the send
    # must not be retried blindly, and the lookup finds what Twilio created.
    with TwilioStub(status_mode="off") as stub:
        client = make_twilio_client(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, stub.url, timeout=0.5)
        channel = TwilioChannel("whatsapp", client)
        stub.drop_reply("stall" if fault == "stall" else "reset", stall=1.5)
        began = datetime.now(UTC)
        with pytest.raises(ChannelError) as lost:
            channel.send(_message())
        assert (lost.value.code, lost.value.action) == ("network", "unconfirmed"), lost.value
        [created] = stub.messages
        found = channel.find_sent(_message(), began)
        assert found is not None and found.provider_id == created["sid"]
        assert len(stub.messages) == 1


@pytest.mark.parametrize("bad_page", [False, True], ids=["5xx", "bad-page"])
def test_a_list_api_error_is_a_lookup_failure(bad_page: bool) -> None:
    with TwilioStub(status_mode="off") as stub:
        channel = TwilioChannel("whatsapp", make_twilio_client(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, stub.url))
        stub.fail_next_list(bad_page=bad_page)
        with pytest.raises(ChannelError) as failed:
            channel.find_sent(_message(), datetime.now(UTC))
        assert (failed.value.code, failed.value.action) == ("lookup", "retry"), failed.value
        assert channel.find_sent(_message(), datetime.now(UTC)) is None  # the next list answers
