"""The egress policy for user-supplied URLs: what production refuses, what development
allows, the operator's allow-list, and the check made again at connect time."""

from __future__ import annotations

import socket

import httpx
import pytest

from folio.egress import EgressPolicy, EgressRefused, egress_client

PRODUCTION = EgressPolicy.for_environment("production")
DEVELOPMENT = EgressPolicy.for_environment("development")

REFUSED_EVERYWHERE = [
    "http://169.254.169.254/latest/meta-data/",  # AWS/GCP/Azure metadata
    "https://[fd00:ec2::254]/",  # AWS metadata over IPv6
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://100.100.100.200/",  # Alibaba metadata
    "https://[fe80::1]/",  # link-local
    "https://0.0.0.0/",
    "https://[::ffff:169.254.169.254]/",  # IPv4-mapped
    "https://10.0.0.5/v1",  # private: refused unless the operator allows it
    "https://192.168.1.2/",
    "https://172.16.0.1/",
    "https://[fc00::1]/",
    "https://user:pw@example.com/",
    "ftp://example.com/",
    "not a url",
]


@pytest.mark.parametrize("url", REFUSED_EVERYWHERE)
def test_internal_and_malformed_urls_are_refused_everywhere(url: str) -> None:
    for policy in (PRODUCTION, DEVELOPMENT):
        with pytest.raises(EgressRefused):
            policy.check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:8080/v1",
        "http://localhost:8080/v1",  # http: only https in production
        "https://2130706433/",  # 127.0.0.1 written as one number
        "https://0x7f.1/",
        "https://[::1]/",
        "https://printer/",  # a bare host name: not public
    ],
)
def test_production_refuses_loopback_http_and_odd_forms(url: str) -> None:
    with pytest.raises(EgressRefused):
        PRODUCTION.check_url(url)


def test_development_allows_loopback_and_production_allows_public_https() -> None:
    assert DEVELOPMENT.check_url("http://127.0.0.1:9000/v1") == ("127.0.0.1", 9000)
    assert PRODUCTION.check_url("https://api.openai.com/v1") == ("api.openai.com", 443)
    PRODUCTION.check_address("8.8.8.8")


def test_the_operator_allow_list_admits_self_hosted_servers() -> None:
    policy = EgressPolicy.for_environment("production", ["vllm.internal", "10.1.0.0/16"])
    policy.check_url("https://vllm.internal/v1")
    policy.check_address("10.1.2.3")
    with pytest.raises(EgressRefused):
        policy.check_address("10.2.0.1")


async def test_a_name_is_checked_by_what_it_resolves_to(monkeypatch) -> None:
    _Rebinding(monkeypatch)  # its second answer is 127.0.0.1
    await PRODUCTION.check_resolved("https://rebind.example/v1")
    with pytest.raises(EgressRefused, match="loopback"):
        await PRODUCTION.check_resolved("https://rebind.example/v1")
    await DEVELOPMENT.check_resolved("http://localhost:1/v1")


class _Rebinding:
    """A name that resolved public when checked, private when connected (DNS rebinding)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        import asyncio

        loop = asyncio.get_running_loop()
        original = loop.getaddrinfo

        async def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
            if host != "rebind.example":
                return await original(host, port, *args, **kwargs)
            self.calls += 1
            address = "93.184.216.34" if self.calls == 1 else "127.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

        monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)


async def test_the_client_checks_the_address_again_when_it_connects(monkeypatch) -> None:
    rebinding = _Rebinding(monkeypatch)
    await PRODUCTION.check_resolved("https://rebind.example/v1")  # public: accepted
    async with egress_client(PRODUCTION) as client:
        with pytest.raises(EgressRefused, match="loopback"):
            await client.get("https://rebind.example/v1/models")
    assert rebinding.calls == 2
    async with egress_client(PRODUCTION) as client:
        with pytest.raises(EgressRefused):
            await client.get("http://169.254.169.254/")
        with pytest.raises(httpx.ConnectError):
            await client.get("https://no-such-host.invalid/")
