"""The gateway in front of the real services: one API description, no internal address or
duplicated header anywhere, and a stopped service that costs only its own routes."""

from __future__ import annotations

import asyncio
import re
from collections import Counter

import httpx
from openapi_spec_validator import validate

from folio_devstack.pytest_plugin import wait_until

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
SERVICES = ("translation-service", "community-service", "user-service")


async def test_the_merged_openapi_is_valid_and_covers_every_operation_of_every_service(
    gateway, stack
):
    response = await gateway.get("/openapi.json")
    assert response.status_code == 200
    merged = response.json()
    validate(merged)  # OpenAPI 3.1
    assert "x-folio-unavailable" not in merged
    published = 0
    async with httpx.AsyncClient(timeout=10) as direct:
        for service in SERVICES:
            own = (await direct.get(stack.config.url(service) + "/openapi.json")).json()
            for path, item in own["paths"].items():
                for method in item:
                    if method not in METHODS or not path.startswith("/api/v1/"):
                        continue
                    published += 1
                    operation = merged["paths"].get(path, {}).get(method)
                    assert operation is not None, (service, method, path)
                    assert operation["x-folio-service"] == service
    assert published >= 3
    schemes = merged["components"]["securitySchemes"]
    assert {"bearerAuth", "sessionCookie"} <= set(schemes)
    docs = await gateway.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text


def internal_addresses(stack) -> list[str]:  # type: ignore[no-untyped-def]
    addresses = []
    for name in (*SERVICES, "worker-service"):
        port = stack.config.ports[name]
        addresses += [f"127.0.0.1:{port}", f"localhost:{port}"]
    return addresses


def check_response(response: httpx.Response, internal: list[str]) -> None:
    counts = Counter(name.lower() for name, _ in response.headers.raw)
    repeated = [name for name, n in counts.items() if n > 1 and name != b"set-cookie"]
    assert not repeated, (response.request.url, response.headers.raw)
    text = " ".join(f"{k.decode()}: {v.decode()}" for k, v in response.headers.raw)
    if not response.headers.get("content-type", "").startswith("text/event-stream"):
        text += response.text
    for address in internal:
        assert address not in text, (response.request.url, address)


async def test_no_response_carries_an_internal_address_or_a_duplicated_header(
    gateway, stack, dev_token
):
    internal = internal_addresses(stack)
    merged = (await gateway.get("/openapi.json")).json()
    paths = sorted(path for path in merged["paths"] if "{" not in path)
    auth = {"Authorization": f"Bearer {dev_token('crawler')}"}
    checked = 0
    for path in paths:
        for headers in ({}, auth):
            for variant in (path, path.rstrip("/") + "/"):
                if variant.endswith(("/stream", "/stream/", "/events", "/events/")):
                    continue
                response = await gateway.get(variant, headers=headers)
                assert response.status_code not in (301, 302, 307, 308), variant
                assert response.status_code < 500, (variant, response.text)
                check_response(response, internal)
                checked += 1
    for path in ("/api/v1/jobs/1", "/api/v1/jobs/1/", "/api/v1/nowhere", "/api/v1/users/me/"):
        for headers in ({}, auth):
            check_response(await gateway.get(path, headers=headers), internal)
            checked += 1
    assert checked > 10


async def test_a_stopped_service_costs_only_its_own_routes_and_comes_back(
    gateway, stack, dev_token
):
    auth = {"Authorization": f"Bearer {dev_token('survivor')}"}
    assert (await gateway.get("/api/v1/community/categories")).status_code == 200
    await asyncio.to_thread(stack.stop_process, "community-service")
    try:
        for _ in range(8):  # through the breaker opening
            response = await gateway.get("/api/v1/community/categories")
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            body = response.json()
            assert re.search("community-service is unavailable", body["detail"])
            assert body["request_id"] == response.headers["x-request-id"]
        me = await gateway.get("/api/v1/users/me", headers=auth)
        assert me.status_code == 200, me.text
        jobs = await gateway.get("/api/v1/jobs/1", headers=auth)
        assert jobs.status_code in (200, 404), jobs.text
        assert (await gateway.get("/healthz")).status_code == 200
        ready = (await gateway.get("/readyz")).json()
        assert ready["checks"]["community-service"] != "ok"
        assert ready["checks"]["user-service"] == "ok"
    finally:
        stack.start_process("community-service")
        await stack.wait_ready(["community-service"])

    async def answers() -> bool:
        return (await gateway.get("/api/v1/community/categories")).status_code == 200

    await wait_until(answers, timeout_s=30, interval_s=0.5)  # the same gateway process
