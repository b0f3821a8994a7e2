"""The Twilio HTTP client reads proxy settings once, when it is built, and still honours them."""

from __future__ import annotations

import pytest

from agent.channels.twilio import make_twilio_client


def _session_proxies(api_url: str) -> dict[str, str]:
    client = make_twilio_client("AC" + "0" * 32, "token", api_url)
    session = client.http_client.session
    assert session.trust_env is False  # nothing is looked up per request any more
    return dict(session.proxies)


def _set_proxy_env(monkeypatch: pytest.MonkeyPatch, no_proxy: str) -> None:
    for name in ("http_proxy", "https_proxy"):  # lower case wins in urllib, so set both spellings
        monkeypatch.setenv(name, "http://proxy.internal:3128")
        monkeypatch.setenv(name.upper(), "http://proxy.internal:3128")
    monkeypatch.setenv("no_proxy", no_proxy)
    monkeypatch.setenv("NO_PROXY", no_proxy)


def test_environment_proxies_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_proxy_env(monkeypatch, "")
    assert _session_proxies("")["https"] == "http://proxy.internal:3128"
    assert _session_proxies("http://twilio-stand-in.example:8080")["http"] == "http://proxy.internal:3128"


def test_no_proxy_still_bypasses(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_proxy_env(monkeypatch, "127.0.0.1,localhost")
    assert "http" not in _session_proxies("http://127.0.0.1:8080")
