"""A service going away and coming back; retries; the circuit breaker."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from folio_devstack.pytest_plugin import wait_until
from folio_devstack.stack import free_port
from folio_gateway.upstream import CircuitBreaker, UpstreamFailure, Upstreams

from .conftest import bearer


async def test_a_stopped_service_is_a_503_for_its_routes_only_and_recovers_by_itself(
    client, backends, keys
):
    community = backends.community
    await community.stop()
    try:
        for _ in range(5):  # past the breaker's threshold (3)
            response = await client.get("/api/v1/community/categories?fake=echo")
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            body = response.json()
            assert "community-service is unavailable" in body["detail"]
            assert body["request_id"] == response.headers["x-request-id"]
            assert int(response.headers["retry-after"]) >= 1
        # Every other service keeps answering.
        token = keys.token("bystander")
        assert (
            await client.get("/api/v1/jobs/1?fake=echo", headers=bearer(token))
        ).status_code == 200
        assert (
            await client.get("/api/v1/users/me?fake=echo", headers=bearer(token))
        ).status_code == 200
        # The gateway itself stays alive; readiness names the missing service.
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["community-service"] != "ok"
        assert ready.json()["checks"]["translation-service"] == "ok"
    finally:
        await community.start()  # same address, as a restarted pod behind its Service
    hits = len(community.hits)

    async def answers() -> bool:
        response = await client.get("/api/v1/community/categories?fake=echo")
        return response.status_code == 200

    await wait_until(answers, timeout_s=10, interval_s=0.2)
    assert len(community.hits) > hits


async def test_an_open_circuit_fails_fast_without_calling_the_service(client, backends):
    users = backends.users
    # 503s from the service count as failures too.
    for _ in range(3):
        response = await client.get("/api/v1/community/announcements?fake=status&code=503")
        assert response.status_code == 503
    hits = len(users.hits)
    response = await client.get("/api/v1/community/announcements?fake=echo")
    assert response.status_code == 503
    assert "user-service is unavailable" in response.json()["detail"]
    assert len(users.hits) == hits  # not called while open

    async def recovered() -> bool:
        return (await client.get("/api/v1/community/announcements?fake=echo")).status_code == 200

    await wait_until(recovered, timeout_s=10, interval_s=0.2)


async def test_connect_failures_are_retried_for_idempotent_requests_only():
    dead = f"http://127.0.0.1:{free_port()}"
    upstreams = Upstreams({"svc": dead}, connect_retries=2, failure_threshold=100)
    target = upstreams.by_name["svc"]
    try:
        with pytest.raises(UpstreamFailure) as failure:
            await upstreams.send(target, "GET", "/x", "", [], None, upstreams.timeout(1))
        assert failure.value.status == 503
        assert upstreams.retries == 2
        with pytest.raises(UpstreamFailure):
            await upstreams.send(target, "POST", "/x", "", [], None, upstreams.timeout(1))
        assert upstreams.retries == 2  # a POST is never sent twice
        with pytest.raises(UpstreamFailure):
            await upstreams.send(target, "DELETE", "/x", "", [], None, upstreams.timeout(1))
        assert upstreams.retries == 4
    finally:
        await upstreams.close()


async def test_a_timeout_is_not_retried(backends):
    upstreams = Upstreams({"svc": backends.translation.url}, connect_retries=2)
    target = upstreams.by_name["svc"]
    hits = len(backends.translation.hits)
    try:
        with pytest.raises(UpstreamFailure) as failure:
            await upstreams.send(
                target, "GET", "/api/v1/jobs/9", "fake=slow&s=2", [], None, upstreams.timeout(0.3)
            )
        assert failure.value.status == 504
        assert len(backends.translation.hits) == hits + 1
        assert upstreams.retries == 0
    finally:
        await upstreams.close()


async def test_connections_are_pooled_and_kept_alive(backends):
    upstreams = Upstreams({"svc": backends.translation.url})
    target = upstreams.by_name["svc"]
    try:
        for _ in range(20):
            response = await upstreams.send(
                target, "GET", "/api/v1/jobs/1", "fake=echo", [], None, upstreams.timeout(5)
            )
            await response.read()
        connector = upstreams.session.connector
        assert connector is not None
        # One connection served all twenty requests.
        assert sum(len(v) for v in connector._conns.values()) == 1  # type: ignore[attr-defined]
    finally:
        await upstreams.close()


def test_circuit_breaker_states():
    breaker = CircuitBreaker(threshold=3, cooldown_s=0.05)
    for _ in range(2):
        assert breaker.allow()
        breaker.failure()
    assert breaker.state == "closed"
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow() and breaker.opened == 1
    time.sleep(0.06)
    assert breaker.allow()  # the probe
    assert breaker.state == "half-open" and not breaker.allow()  # one probe at a time
    breaker.failure()  # the probe failed: open again, for another cooldown
    assert breaker.state == "open" and breaker.opened == 2 and not breaker.allow()
    time.sleep(0.06)
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow() and breaker.failures == 0


async def test_healthz_never_depends_on_the_services(keys, tmp_path):
    from .conftest import GatewayProcess

    dead = f"http://127.0.0.1:{free_port()}"
    process = await GatewayProcess(
        {
            "FOLIO_UPSTREAM_TRANSLATION_URL": dead,
            "FOLIO_UPSTREAM_COMMUNITY_URL": dead,
            "FOLIO_UPSTREAM_USERS_URL": dead,
            "FOLIO_UPSTREAM_WORKER_URL": dead,
            "FOLIO_AUTH_JWKS_URL": dead + "/jwks",
            "FOLIO_INTERNAL_TOKEN_PRIVATE_KEY": keys.internal_private,
        }
    ).start(tmp_path)
    try:
        async with httpx.AsyncClient(base_url=process.url) as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.head("/healthz")).status_code == 200
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert set(ready.json()["checks"]) == {
                "translation-service",
                "community-service",
                "user-service",
                "worker-service",
            }
            response = await client.get("/api/v1/community/categories")
            assert response.status_code == 503
            assert response.headers["content-type"] == "application/problem+json"
    finally:
        process.stop()


async def test_a_broken_answer_is_a_502():
    async def nonsense(reader, writer) -> None:  # type: ignore[no-untyped-def]
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"SPEAK FRIEND AND ENTER\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(nonsense, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    upstreams = Upstreams({"svc": f"http://127.0.0.1:{port}"})
    try:
        with pytest.raises(UpstreamFailure) as failure:
            await upstreams.send(
                upstreams.by_name["svc"], "POST", "/x", "", [], None, upstreams.timeout(2)
            )
        assert failure.value.status == 502 and failure.value.kind == "bad_gateway"
    finally:
        await upstreams.close()
        server.close()
