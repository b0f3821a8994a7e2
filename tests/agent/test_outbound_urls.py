"""The webhook target policy: which addresses a business's webhooks may reach, checked when a URL
is saved and again at connect time, on the address that was checked (issue #17, item 2)."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Iterator, Sequence

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from agent.outbound_urls import (
    RefusedTarget,
    TargetPolicy,
    check_target,
    check_targets,
    refused_address,
    target_client,
)
from tests.support.server_thread import ServerThread

PUBLIC = TargetPolicy()


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "reserved"),  # carrier-grade NAT, not global
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 around 10.0.0.1
        ("::127.0.0.1", "reserved"),  # IPv4-compatible (deprecated)
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("2001:4860:4860::8888", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_addresses_are_classified(address: str, kind: str | None) -> None:
    assert refused_address(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1 is a loopback address"),
        ("http://[::1]:8080/hook", "::1 is a loopback address"),
        ("http://localhost:8080/hook", "localhost is a loopback name"),
        ("http://LOCALHOST./hook", "loopback name"),
        ("http://api.localhost/hook", "loopback name"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://2130706433/", "2130706433 is a loopback address (127.0.0.1)"),
        ("http://0x7f.1/", "0x7f.1 is a loopback address (127.0.0.1)"),
        ("http://0177.0.0.1/", "not a URL"),  # httpx refuses octal parts itself
        ("http://127.1/", "loopback address (127.0.0.1)"),
        ("http://[::ffff:127.0.0.1]/", "loopback address (127.0.0.1)"),
        ("http://[::ffff:a9fe:a9fe]/", "link-local address (169.254.169.254)"),
        ("http://[fe80::1%25eth0]/", "link-local"),
        ("http://0.0.0.0:8000/", "unspecified"),
        ("http://10.0.0.5/", "private"),
        ("http://user:pw@192.168.0.1/", "private"),
        ("http://134744072/", "134744072 means 8.8.8.8; write an IPv4 address as four decimal numbers"),
        ("ftp://example.com/", "http(s)"),
        ("http:///path", "has no host"),
        ("https://crm.example:99999/", "port 99999 is not between 1 and 65535"),
        ("http://[zz::1]/", "not a URL"),
    ],
)
def test_refused_urls_say_why(url: str, says: str) -> None:
    with pytest.raises(RefusedTarget) as refused:
        check_target(url, PUBLIC, resolve=False)
    assert says in str(refused.value)


def test_public_targets_pass_and_live_mode_requires_https() -> None:
    for url in ("https://8.8.8.8/hook", "https://[2001:4860:4860::8888]:8443/", "http://crm.example/hook"):
        check_target(url, PUBLIC, resolve=False)
    live = TargetPolicy(require_https=True)
    check_target("https://crm.example/hook", live, resolve=False)
    with pytest.raises(RefusedTarget, match="must be an https URL"):
        check_target("http://crm.example/hook", live, resolve=False)
    with pytest.raises(RefusedTarget, match="loopback"):  # the address is the bigger problem
        check_target("http://127.0.0.1/hook", live, resolve=False)


def test_the_operator_may_allow_private_targets() -> None:
    on_premise = TargetPolicy(allow_private=True)
    for url in ("http://127.0.0.1:9/", "http://localhost/", "http://10.0.0.5/", "http://0x7f.1/"):
        check_target(url, on_premise)
    with pytest.raises(RefusedTarget, match="http"):
        check_target("gopher://127.0.0.1/", on_premise)


def _resolving(*answers: Sequence[str]) -> tuple[TargetPolicy, list[str]]:
    """A policy whose lookups answer in turn (the name's owner controls its DNS)."""
    asked: list[str] = []

    def resolve(host: str, port: int) -> Sequence[str]:
        asked.append(host)
        return answers[min(len(asked), len(answers)) - 1]

    return TargetPolicy(resolve=resolve), asked


def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    policy, _ = _resolving(["93.184.216.34", "10.0.0.7"])
    with pytest.raises(RefusedTarget, match=r"hook\.example resolves to 10\.0\.0\.7, a private address"):
        check_target("https://hook.example/x", policy)
    public, asked = _resolving(["93.184.216.34", "2606:2800:220:1::1"])
    check_target("https://hook.example/x", public)
    assert asked == ["hook.example"]


def test_a_name_that_does_not_resolve_yet_is_left_to_the_send_time_check() -> None:
    def no_answer(host: str, port: int) -> Sequence[str]:
        raise OSError("Name or service not known")

    check_target("https://not-yet.example/x", TargetPolicy(resolve=no_answer))


def test_a_slow_resolver_does_not_hold_the_request() -> None:
    release = threading.Event()

    def slow(host: str, port: int) -> Sequence[str]:
        release.wait(10)
        return ["127.0.0.1"]

    policy = TargetPolicy(resolve=slow, resolve_timeout=0.2)
    started = time.monotonic()
    check_target("https://slow.example/x", policy)  # accepted now; judged again when sending
    assert time.monotonic() - started < 1.0
    with target_client(policy) as client, pytest.raises(httpx.ConnectTimeout):
        client.post("http://slow.example:9/x")
    # However many URLs a request names, their lookups share one budget.
    urls = [(f"audiences.{n}.url", f"https://slow{n}.example/x") for n in range(20)]
    started = time.monotonic()
    check_targets(urls, policy)
    assert time.monotonic() - started < 1.0
    release.set()


@pytest.fixture
def hook() -> Iterator[tuple[str, list[str]]]:
    """A receiver on 127.0.0.1: /hook answers 200, /moved redirects to /hook."""
    hits: list[str] = []

    async def receive(request: Request) -> JSONResponse:
        hits.append(request.url.path)
        return JSONResponse({"ok": True})

    async def moved(request: Request) -> RedirectResponse:
        hits.append(request.url.path)
        return RedirectResponse("/hook", status_code=302)

    routes = [Route("/hook", receive, methods=["POST"]), Route("/moved", moved, methods=["POST"])]
    with ServerThread(Starlette(routes=routes), name="hook") as server:
        yield server.url, hits


def test_send_time_refuses_what_the_save_time_check_let_through(hook: tuple[str, list[str]]) -> None:
    url, hits = hook
    port = httpx.URL(url).port
    # DNS rebinding: the name was public when the URL was saved and points at 127.0.0.1 now.
    policy, asked = _resolving(["93.184.216.34"], ["127.0.0.1"])
    check_target(f"http://rebind.example:{port}/hook", policy)
    with target_client(policy) as client, pytest.raises(RefusedTarget, match=r"resolves to 127\.0\.0\.1, a loopback"):
        client.post(f"http://rebind.example:{port}/hook", json={})
    assert asked == ["rebind.example", "rebind.example"] and hits == []
    with target_client(PUBLIC) as client:
        for target in (url, f"http://localhost:{port}", f"http://2130706433:{port}", f"http://[::ffff:7f00:1]:{port}"):
            with pytest.raises(RefusedTarget):
                client.post(f"{target}/hook", json={})
    assert hits == []


def test_the_connection_goes_to_the_address_that_was_looked_up(hook: tuple[str, list[str]]) -> None:
    url, hits = hook
    port = httpx.URL(url).port
    # `hook.test` exists only in this policy's resolver: reaching the receiver proves the connection
    # used that one lookup (the system resolver has never heard of the name).
    policy, asked = _resolving(["127.0.0.1"])
    on_premise = TargetPolicy(allow_private=True, resolve=policy.resolve)
    with target_client(on_premise) as client:
        assert client.post(f"http://hook.test:{port}/hook", json={}).status_code == 200
    assert asked == ["hook.test"] and hits == ["/hook"]


def test_redirects_are_not_followed(hook: tuple[str, list[str]]) -> None:
    url, hits = hook
    with target_client(TargetPolicy(allow_private=True)) as client:
        response = client.post(f"{url}/moved", json={})
    assert response.status_code == 302 and hits == ["/moved"]


def test_proxies_from_the_environment_are_not_used(
    hook: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, hits = hook
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    with target_client(TargetPolicy(allow_private=True)) as client:
        assert client.post(f"{url}/hook", json={}).status_code == 200
    assert hits == ["/hook"]
