"""The proxy itself: headers both ways, redirects, body limits, streaming in both
directions, server-sent events, client disconnects, timeouts, CORS, the gateway's own
routes. Through the real gateway process in front of real HTTP services."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import httpx
import pytest

from folio_devstack.pytest_plugin import wait_until

from .conftest import FRONTEND, bearer


def assert_no_duplicates(response: httpx.Response) -> None:
    counts = Counter(name.lower() for name, _ in response.headers.raw)
    repeated = {name for name, n in counts.items() if n > 1 and name != b"set-cookie"}
    assert not repeated, response.headers.raw


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_requests_reach_the_right_service_with_path_and_query_intact(client, keys):
    cases = {
        "/api/v1/jobs/7/segments?offset=0&limit=5&fake=echo": "translation-service",
        "/api/v1/community/posts/3?fake=echo": "community-service",
        "/api/v1/community/announcements?fake=echo": "user-service",
        "/api/v1/users/me/token-usage?fake=echo": "user-service",
    }
    token = keys.token("router")
    for path, service in cases.items():
        response = await client.get(path, headers=bearer(token))
        assert response.status_code == 200, (path, response.text)
        echoed = response.json()
        assert echoed["service"] == service, path
        assert echoed["path"] + "?" + echoed["query"] == path
    # Encoded characters are forwarded as the client wrote them.
    response = await client.get("/api/v1/community/posts?search=a%2Fb%20c&fake=echo")
    assert response.json()["query"] == "search=a%2Fb%20c&fake=echo"


async def test_hop_by_hop_headers_stop_and_forwarding_headers_are_the_gateways(client):
    response = await client.get(
        "/api/v1/community/categories?fake=echo",
        headers={
            "Connection": "keep-alive, X-Private-Hop",
            "X-Private-Hop": "secret",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "X-Forwarded-For": "6.6.6.6",
            "X-Forwarded-Host": "evil.example",
            "X-Request-ID": "client-chosen-id-123",
            "X-Custom": "kept",
        },
    )
    seen: dict[str, list[str]] = {}
    for name, value in response.json()["headers"]:
        seen.setdefault(name, []).append(value)
    for hop in ("x-private-hop", "keep-alive", "te"):
        assert hop not in seen, seen
    assert seen.get("connection", ["keep-alive"]) == ["keep-alive"]
    assert seen["x-forwarded-for"] == ["127.0.0.1"]  # the client's own claim is not trusted
    assert seen["x-forwarded-host"] != ["evil.example"]
    assert seen["x-forwarded-proto"] == ["http"]
    assert seen["x-custom"] == ["kept"]
    # A well-formed request id is kept end to end, for the client's own correlation.
    assert seen["x-request-id"] == ["client-chosen-id-123"]
    assert response.headers["x-request-id"] == "client-chosen-id-123"


async def test_responses_have_no_duplicated_or_hop_by_hop_headers(client):
    response = await client.get("/api/v1/community/categories?fake=dup")
    assert response.status_code == 200
    assert_no_duplicates(response)
    assert response.headers["vary"].startswith("Accept-Encoding, Accept-Language")
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert "server" not in response.headers
    assert len(response.headers.get_list("date")) == 1
    assert response.headers["x-request-id"] != "upstream-made-this"
    assert "x-hop-secret" not in response.headers and "keep-alive" not in response.headers
    assert "access-control-allow-origin" not in response.headers  # CORS is the gateway's
    assert response.headers["x-frame-options"] == "DENY"


async def test_head_requests_get_the_headers_without_a_body(client, keys):
    response = await client.head(
        "/api/v1/download/1?fake=download&mb=1", headers=bearer(keys.token("header-reader"))
    )
    assert response.status_code == 200 and response.content == b"", response.headers
    assert response.headers["content-length"] == str(1024 * 1024)
    assert_no_duplicates(response)


async def test_security_headers_on_every_api_response(client):
    for path in ("/api/v1/community/categories?fake=echo", "/api/v1/nowhere"):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "strict-transport-security" not in response.headers  # plain HTTP here
        assert_no_duplicates(response)


async def test_redirects_never_carry_an_internal_address(client, backends):
    response = await client.get("/api/v1/community/posts?fake=redirect")
    assert response.status_code == 307
    assert response.headers["location"] == "/api/v1/community/posts/next?x=1"
    assert response.headers["content-location"] == "/api/v1/elsewhere"
    for service in (backends.translation, backends.community, backends.users):
        assert str(service.port) not in json.dumps(dict(response.headers))
    # Redirects elsewhere (a storage URL) are the service's business.
    response = await client.get("/api/v1/community/posts?fake=external-redirect")
    assert response.headers["location"] == "https://storage.example/b?sig=1"


async def test_unknown_routes_are_a_404_problem(client, backends):
    before = len(backends.translation.hits)
    body = assert_problem(await client.get("/api/v1/jobsearch"), 404)
    assert "No API route" in body["detail"]
    assert len(backends.translation.hits) == before


async def test_an_oversized_body_is_refused_before_the_service_sees_it(client, backends):
    before = len(backends.community.hits)
    response = await client.post(
        "/api/v1/community/posts/1/view?fake=sink", content=b"x" * (64 * 1024 + 1)
    )
    assert "larger than 65536 bytes" in assert_problem(response, 413)["detail"]
    assert len(backends.community.hits) == before


async def test_a_streamed_body_is_cut_off_with_413_once_it_passes_the_limit(client, backends):
    sent = 0

    async def chunks():
        nonlocal sent
        for _ in range(64):
            sent += 4096
            yield b"y" * 4096
            await asyncio.sleep(0)

    response = await client.post("/api/v1/community/posts/1/view?fake=sink", content=chunks())
    assert_problem(response, 413)
    assert "/api/v1/community/posts/1/view" not in backends.community.received


async def test_a_small_streamed_body_passes(client, backends):
    async def chunks():
        for _ in range(4):
            yield b"z" * 1000

    response = await client.post("/api/v1/community/posts/2/view?fake=sink", content=chunks())
    assert response.status_code == 200 and response.json() == {"bytes": 4000}


class PeakMemory:
    """Samples a process's resident memory while something runs."""

    def __init__(self, process) -> None:  # type: ignore[no-untyped-def]
        self.process = process
        self.baseline = process.rss_bytes()
        self.peak = self.baseline
        self._done = asyncio.Event()

    async def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self.process.rss_bytes())
            await asyncio.sleep(0.02)

    async def __aenter__(self) -> PeakMemory:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._done.set()
        await self._task

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


async def test_a_100_mb_upload_streams_through_in_bounded_memory(
    client, gateway_process, backends, keys
):
    size, block = 100 * 1024 * 1024, b"u" * (256 * 1024)

    async def chunks():
        for _ in range(size // len(block)):
            yield block

    async with PeakMemory(gateway_process) as memory:
        response = await client.post(
            "/api/v1/jobs?fake=sink",
            content=chunks(),
            headers={**bearer(keys.token("uploader")), "Content-Length": str(size)},
            timeout=120,
        )
    assert response.status_code == 200, response.text
    assert response.json() == {"bytes": size}
    assert memory.growth < 20 * 1024 * 1024, (memory.baseline, memory.peak)


async def test_a_100_mb_download_streams_through_in_bounded_memory(client, gateway_process, keys):
    received = 0
    async with PeakMemory(gateway_process) as memory:
        async with client.stream(
            "GET", "/api/v1/download/1?fake=download&mb=100", headers=bearer(keys.token("reader"))
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-length"] == str(100 * 1024 * 1024)
            async for chunk in response.aiter_raw():
                received += len(chunk)
    assert received == 100 * 1024 * 1024
    assert memory.growth < 20 * 1024 * 1024, (memory.baseline, memory.peak)


async def test_server_sent_events_are_delivered_one_by_one_as_the_service_writes_them(
    client, backends
):
    service = backends.users
    async with client.stream(
        "GET", "/api/v1/community/announcements/stream?fake=sse&n=4&key=lockstep"
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        index = 0
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            event = json.loads(line[6:]) if line != "data: stalled" else {"index": "stalled"}
            # The service writes event i+1 only after this read of event i (else "stalled"),
            # so a gateway that buffered would fail here, however slow the machine is.
            assert event["index"] == index, "the gateway held an event back"
            service.gate(f"lockstep:{index}").set()  # only now will the next be written
            index += 1
    assert index == 4


async def test_a_client_that_disconnects_cancels_the_upstream_request(client, backends, keys):
    with pytest.raises(httpx.ReadTimeout):
        await client.get(
            "/api/v1/jobs/5?fake=slow&s=30", headers=bearer(keys.token("impatient")), timeout=0.5
        )
    await wait_until(
        lambda: _true("GET /api/v1/jobs/5 slow" in backends.translation.cancelled), timeout_s=5
    )


async def test_closing_an_event_stream_cancels_the_upstream_stream(client, backends):
    async with client.stream(
        "GET", "/api/v1/community/announcements/stream?fake=sse&n=3&key=leaver"
    ) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                break  # leave after the first event, without acknowledging it
    await wait_until(
        lambda: _true(any("sse" in hit for hit in backends.users.cancelled)), timeout_s=5
    )


async def _true(value: bool) -> bool:
    return value


async def test_a_silent_service_is_a_504_problem(client, keys):
    response = await client.get(
        "/api/v1/jobs/6?fake=slow&s=4", headers=bearer(keys.token("waiter"))
    )
    assert "did not answer in time" in assert_problem(response, 504)["detail"]


async def test_a_service_error_passes_through_unchanged(client):
    response = await client.get("/api/v1/community/categories?fake=status&code=404")
    assert response.status_code == 404 and response.json() == {"status": "chosen"}


async def test_cors_preflights_are_answered_without_authentication(client, backends):
    before = len(backends.translation.hits)
    response = await client.options(
        "/api/v1/jobs",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert len(backends.translation.hits) == before
    refused = await client.options(
        "/api/v1/jobs",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert refused.status_code == 400


async def test_cors_headers_on_real_responses_expose_what_the_frontend_reads(client):
    response = await client.get(
        "/api/v1/community/posts?fake=echo", headers={"Origin": "http://localhost:3000"}
    )
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    exposed = response.headers["access-control-expose-headers"].lower()
    for name in ("x-total-count", "content-disposition", "x-request-id", "retry-after"):
        assert name in exposed
    assert_no_duplicates(response)


async def test_health_answers_get_and_head_and_readiness_names_each_service(client):
    assert (await client.get("/healthz")).status_code == 200
    head = await client.head("/healthz")
    assert head.status_code == 200 and head.content == b""
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"]) == {
        "translation-service",
        "community-service",
        "user-service",
        "worker-service",
    }
    assert (await client.head("/readyz")).status_code == 200


async def test_a_path_that_is_not_a_valid_url_is_a_4xx_problem_never_a_crash(client, keys):
    token = keys.token("odd-paths")
    for path in ("/api/v1/jobs/%00", "/api/v1/jobs/%ZZ", "/api/v1/community/posts/%00?x=%00"):
        response = await client.delete(path, headers=bearer(token))
        assert response.status_code < 500, (path, response.status_code, response.text)
