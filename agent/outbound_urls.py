"""Where a business's webhooks may point: the one policy for URLs a tenant configures (a rep's
`webhook_url`, an audience webhook's `url`, the profile's fallback contact), checked when the URL
is saved and again when something is sent to it.

Only public addresses are allowed: loopback, private, link-local, multicast, reserved and
unspecified addresses are refused, IPv4 and IPv6 alike (IPv4 inside IPv6 is judged as the IPv4
address it carries), as are IPv4 addresses in legacy forms (`2130706433`, `0x7f.1`) that
parsers disagree on. A name is resolved and judged by every address it has; at send time the
connection goes to the address just checked, so a name that changes its answer between the
check and the connect (DNS rebinding) cannot reach a refused address. Live mode requires https.
`NUDGE_ALLOW_PRIVATE_WEBHOOKS` (on-premise installs) lifts the address rules and the https rule.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpcore
import httpx

from nudge.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Hosts an IPv4 parser may read as an address: decimal, octal or hex parts, one to four of them.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|\d+)(\.(0x[0-9a-f]*|\d+)){0,3}$", re.IGNORECASE)
_ALLOW_HINT = "only public addresses can receive webhooks"


class RefusedTarget(ValueError):
    """The URL may not receive a business's data; the message says why."""


def system_resolve(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


@dataclass(frozen=True)
class TargetPolicy:
    allow_private: bool = False
    require_https: bool = False
    resolve: Resolver = system_resolve
    # Bounds a lookup at save time (the request waits for it) and at connect time.
    resolve_timeout: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings) -> TargetPolicy:
        allow = settings.allow_private_webhooks
        return cls(allow_private=allow, require_https=settings.channels == "live" and not allow)


def unwrapped(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), which is where it leads."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return embedded
    return address


def refused_address(address: IPAddress) -> str | None:
    """Why nothing may be sent to this address (a kind of address), or None for a public one."""
    address = unwrapped(address)
    for kind, flag in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    ):
        if flag:
            return kind
    return None if address.is_global else "reserved"  # e.g. 100.64.0.0/10, shared by carriers


def check_target(url: str, policy: TargetPolicy, *, resolve: bool = True) -> None:
    """Raise RefusedTarget unless `url` may receive webhooks. `resolve=False` skips the lookup of
    a name (the connection makes it, see `target_client`)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise RefusedTarget(f"not a URL ({exc})") from exc
    if parsed.scheme not in ("http", "https"):
        raise RefusedTarget("must be an http(s) URL")
    host = parsed.raw_host.decode("ascii", "replace")
    if not host:
        raise RefusedTarget("has no host")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise RefusedTarget(f"port {parsed.port} is not between 1 and 65535")
    if not policy.allow_private:
        _check_host(host, parsed, policy, resolve)
    if policy.require_https and parsed.scheme != "https":
        raise RefusedTarget("must be an https URL (NUDGE_CHANNELS=live sends only over https)")


def _check_host(host: str, parsed: httpx.URL, policy: TargetPolicy, resolve: bool) -> None:
    address = _literal_address(host)
    if address is not None:
        _refuse_addresses(host, [address], literal=True)
        return
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        raise RefusedTarget(f"{host} is a loopback name; {_ALLOW_HINT}")
    if resolve:
        try:
            found = _lookup(policy, host, parsed.port or (443 if parsed.scheme == "https" else 80))
        except OSError:
            return  # no answer yet: the check at send time judges what the name resolves to then
        _refuse_addresses(host, found)


def check_host(host: str, port: int, policy: TargetPolicy, *, resolve: bool = True) -> None:
    """Raise RefusedTarget unless a business's server (not a URL: an IMAP host) may be connected
    to, by the same address rules as webhook URLs. A name that does not resolve now passes (the
    connection judges it then)."""
    if not host or len(host) > 255:
        raise RefusedTarget("has no host" if not host else "the host name is longer than 255 characters")
    if not 0 < port < 65536:
        raise RefusedTarget(f"port {port} is not between 1 and 65535")
    if policy.allow_private:
        return
    address = _literal_address(host.strip("[]"))
    if address is not None:
        _refuse_addresses(host, [address], literal=True)
        return
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        raise RefusedTarget(f"{host} is a loopback name; {_ALLOW_HINT}")
    if resolve:
        try:
            found = _lookup(policy, host, port)
        except OSError:
            return
        _refuse_addresses(host, found)


def configured_targets(*, audiences: Any = None, profile: Any = None) -> Iterator[tuple[str, str]]:
    """The webhook URLs in a business's settings, each with the field it was given in."""
    for index, entry in enumerate(audiences or []):
        if isinstance(entry, Mapping) and entry.get("kind") == "webhook" and isinstance(entry.get("url"), str):
            yield f"audiences.{index}.url", entry["url"]
    fallback = profile.get("fallback_contact") if isinstance(profile, Mapping) else None
    if isinstance(fallback, Mapping) and isinstance(fallback.get("webhook_url"), str):
        yield "profile.fallback_contact.webhook_url", fallback["webhook_url"]


def check_targets(targets: Iterable[tuple[str, str | None]], policy: TargetPolicy) -> None:
    """Raise RefusedTarget('<field>: <why>') for the first target the policy refuses (the API
    answers 422). All lookups share one `resolve_timeout`, however many targets there are (names
    left unresolved are judged at send time)."""
    deadline = time.monotonic() + policy.resolve_timeout
    for field, url in targets:
        if url is None:
            continue
        left = deadline - time.monotonic()
        try:
            check_target(url, replace(policy, resolve_timeout=max(left, 0.0)), resolve=left > 0)
        except RefusedTarget as exc:
            raise RefusedTarget(f"{field}: {exc}") from exc


def target_client(policy: TargetPolicy) -> httpx.Client:
    """An HTTP client for tenant-configured URLs: every request is checked against the policy,
    connects only to the addresses it checked, never goes through a proxy from the environment
    and follows no redirect (a 3xx is the caller's failed delivery)."""
    return httpx.Client(transport=_CheckedTransport(policy), follow_redirects=False, trust_env=False)


def _literal_address(host: str) -> IPAddress | None:
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0])  # a zone id only follows link-local
        except ValueError as exc:
            raise RefusedTarget(f"{host} is not an IP address") from exc
    try:
        return ipaddress.IPv4Address(host)
    except ValueError:
        pass
    if not _NUMERIC_HOST.match(host.rstrip(".")):
        return None
    try:
        address = ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
    except OSError as exc:
        raise RefusedTarget(f"{host} is neither a name nor an IPv4 address") from exc
    _refuse_addresses(host, [address], literal=True)
    raise RefusedTarget(f"{host} means {address}; write an IPv4 address as four decimal numbers")


def _refuse_addresses(host: str, addresses: Sequence[IPAddress | str], *, literal: bool = False) -> list[IPAddress]:
    checked = []
    for raw in addresses:
        address = ipaddress.ip_address(raw.split("%", 1)[0]) if isinstance(raw, str) else raw
        kind = refused_address(address)
        if kind is None:
            checked.append(address)
            continue
        article = "an" if kind[0] in "aeiou" else "a"
        if not literal:
            raise RefusedTarget(f"{host} resolves to {address}, {article} {kind} address; {_ALLOW_HINT}")
        plain = unwrapped(address)
        written = "" if str(plain) == host else f" ({plain})"
        raise RefusedTarget(f"{host} is {article} {kind} address{written}; {_ALLOW_HINT}")
    if not checked:
        raise RefusedTarget(f"{host} has no address")
    return checked


def _lookup(policy: TargetPolicy, host: str, port: int, timeout: float | None = None) -> list[str]:
    """Resolve on a helper thread: getaddrinfo has no timeout of its own. OSError when the name
    has no answer (TimeoutError, one of them, when none came in time)."""
    answer: list[Sequence[str] | Exception] = []
    done = threading.Event()

    def run() -> None:
        try:
            answer.append(policy.resolve(host, port))
        except Exception as exc:  # handed to the caller below
            answer.append(exc)
        finally:
            done.set()

    seconds = min(timeout, policy.resolve_timeout) if timeout else policy.resolve_timeout
    threading.Thread(target=run, name="resolve-webhook", daemon=True).start()
    if not done.wait(seconds):
        raise TimeoutError(f"{host} did not resolve within {seconds:g} s")
    result = answer[0]
    if isinstance(result, OSError):
        raise result
    if isinstance(result, Exception):
        raise OSError(f"{host} did not resolve: {result}") from result
    return list(result)


class _CheckedBackend(httpcore.NetworkBackend):
    """Resolves the host once, refuses it if any of its addresses is refused, and connects to
    those addresses (never to a second, unchecked lookup)."""

    def __init__(self, policy: TargetPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            found = _lookup(self._policy, host, port, timeout)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
        if not self._policy.allow_private:
            _refuse_addresses(host, found)
        failure: Exception | None = None
        for address in dict.fromkeys(found):
            try:
                return self._inner.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"{host} has no address")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise RefusedTarget("unix sockets cannot receive webhooks")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _CheckedTransport(httpx.HTTPTransport):
    def __init__(self, policy: TargetPolicy) -> None:
        context = httpx.create_ssl_context()
        super().__init__(verify=context, trust_env=False)
        self._policy = policy
        # httpx takes no network backend, so its pool is replaced by one on the checked backend;
        # TLS still verifies the certificate against the URL's name.
        self._pool = httpcore.ConnectionPool(ssl_context=context, network_backend=_CheckedBackend(policy))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        check_target(str(request.url), self._policy, resolve=False)
        return super().handle_request(request)
