"""Where a user-supplied URL may lead: the egress policy for model endpoints.

Users may point a job at their own provider (``api_base_url``, URLs inside
``provider_config``). Without a policy such a URL is a server-side request forgery: the
worker would call the cluster's metadata service, a database port or an admin API on the
user's behalf. The policy, the same in every service that checks it:

* production: ``https`` only, and every address the host resolves to must be public
  (not private, loopback, link-local, multicast, reserved, shared, or a cloud metadata
  address), unless the host is on the operator's allow-list (self-hosted vLLM, Ollama);
* development and test: ``http`` too, and loopback addresses (the fake LLM, a local
  server), but still never link-local or metadata addresses.

translation-service checks a URL (and what its host resolves to) before it accepts a job;
the worker checks the address again when it connects (:func:`check_address`), because DNS
may answer differently by then (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Host names that name a metadata service whatever they resolve to.
METADATA_HOSTS = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "metadata.azure"}
)
# Addresses of cloud metadata services beyond the link-local range.
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not public


class EgressRefused(ValueError):
    """A URL or address the policy does not allow; the message is fit for a user."""


def ip_literal(host: str) -> IPAddress | None:
    """The address a URL's host names literally (any form the resolver accepts), or None."""
    return _address(host) or _legacy_ipv4(host)


def _address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _legacy_ipv4(host: str) -> IPAddress | None:
    """``2130706433``, ``0x7f.1`` and ``127.1``: forms ``inet_aton`` accepts (and so
    does the resolver), which ``ipaddress`` does not."""
    if not host or not all(c.isalnum() or c == "." for c in host) or host[-1] == ".":
        return None
    if not (host[0].isdigit()):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


@dataclass(frozen=True)
class EgressPolicy:
    production: bool
    # Host names (exact, case-insensitive) or networks the operator allows anyway.
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def for_environment(cls, environment: str, allowed: Iterable[str] = ()) -> EgressPolicy:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in allowed:
            entry = entry.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        return cls(environment == "production", frozenset(hosts), tuple(networks))

    # -- checks ------------------------------------------------------------------------

    def host_allowed(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.allowed_hosts

    def check_address(self, address: IPAddress | str, host: str | None = None) -> None:
        """Raise :class:`EgressRefused` unless a connection to ``address`` is allowed."""
        ip = address if not isinstance(address, str) else _address(address)
        if ip is None:
            raise EgressRefused(f"{address!r} is not an IP address")
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in net for net in self.allowed_networks):
            return
        if host is not None and self.host_allowed(host):
            return
        what = f"{host} ({ip})" if host and host != str(ip) else str(ip)
        if ip in METADATA_ADDRESSES or ip.is_link_local:
            raise EgressRefused(f"{what} is a link-local or metadata address")
        if ip.is_loopback:
            if self.production:
                raise EgressRefused(f"{what} is a loopback address")
            return
        if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
            raise EgressRefused(f"{what} is not a routable address")
        if ip.is_private or (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED):
            if self.production:
                raise EgressRefused(f"{what} is a private address")
            # Development may run a provider on the LAN only if the operator says so.
            raise EgressRefused(
                f"{what} is a private address; add it to the egress allow-list to use it"
            )

    def check_url(self, url: str, *, what: str = "URL") -> tuple[str, int]:
        """The URL's (host, port) if its form is allowed; resolving is a separate step."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise EgressRefused(f"{what} is not a valid URL") from exc
        scheme = parts.scheme.lower()
        allowed_schemes = ("https",) if self.production else ("https", "http")
        if scheme not in allowed_schemes:
            raise EgressRefused(f"{what} must use {' or '.join(allowed_schemes)}")
        if parts.username or parts.password:
            raise EgressRefused(f"{what} must not carry credentials")
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise EgressRefused(f"{what} has no host")
        if host in METADATA_HOSTS or (host.endswith(".internal") and not self.host_allowed(host)):
            raise EgressRefused(f"{what} points at an internal or metadata host")
        literal = _address(host) or _legacy_ipv4(host)
        if literal is not None:
            self._checked(literal, host, what)
        elif self.production and not self.host_allowed(host) and "." not in host:
            raise EgressRefused(f"{what} must name a public host")
        return host, port or (443 if scheme == "https" else 80)

    async def check_resolved(self, url: str, *, what: str = "URL") -> None:
        """Check the URL and every address its host resolves to now."""
        host, port = self.check_url(url, what=what)
        if _address(host) or _legacy_ipv4(host):
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise EgressRefused(f"{what}: the host {host} cannot be resolved") from exc
        for info in infos:
            self._checked(info[4][0], host, what)

    def _checked(self, address: IPAddress | str, host: str, what: str) -> None:
        try:
            self.check_address(address, host)
        except EgressRefused as exc:
            raise EgressRefused(f"{what} is not allowed: {exc}") from None


class EgressNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, checking the addresses a host resolves to right before
    it connects, and connecting to the checked address (no second resolution)."""

    def __init__(
        self, policy: EgressPolicy, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.policy = policy
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        literal = ip_literal(host)
        if literal is not None:
            self.policy.check_address(literal, host)
            address = str(literal)
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
            for info in infos:
                self.policy.check_address(info[4][0], host)
            if not infos:
                raise EgressRefused(f"{host} resolves to no address")
            address = infos[0][4][0]
        return await self.inner.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def egress_client(policy: EgressPolicy, *, timeout_s: float = 10.0) -> httpx.AsyncClient:
    """An HTTP client for user-supplied URLs: every connection is checked against the
    policy when it is made, no proxy from the environment, no redirects followed."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx does not take a network backend; its connection pool does.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=transport._pool._ssl_context,
        network_backend=EgressNetworkBackend(policy),
    )
    return httpx.AsyncClient(
        transport=transport, timeout=timeout_s, follow_redirects=False, trust_env=False
    )
