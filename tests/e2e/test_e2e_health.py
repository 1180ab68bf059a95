"""The gateway's fixed interface: liveness, readiness, routing and errors."""

from __future__ import annotations


async def test_gateway_health_and_readiness(gateway):
    assert (await gateway.get("/healthz")).status_code == 200
    ready = await gateway.get("/readyz")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert set(checks) == {
        "translation-service",
        "community-service",
        "user-service",
        "worker-service",
    }
    assert all(value == "ok" for value in checks.values())


async def test_unknown_api_route_is_a_404_problem(gateway):
    response = await gateway.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_public_route_reaches_the_community_service(gateway):
    response = await gateway.get("/api/v1/community/categories")
    assert response.status_code == 200
    seeded = ["announcement", "suggestion", "qna", "free"]
    # Other tests add their own boards; the four seeded ones are there, in their order.
    assert [c["name"] for c in response.json() if c["name"] in seeded] == seeded


async def test_request_id_is_returned_and_kept(gateway):
    response = await gateway.get(
        "/api/v1/community/categories", headers={"x-request-id": "client-req-0001"}
    )
    assert response.headers["x-request-id"] == "client-req-0001"
    fresh = await gateway.get("/api/v1/community/categories")
    assert len(fresh.headers["x-request-id"]) >= 16
