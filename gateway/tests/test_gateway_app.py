"""The gateway application in process, in front of services that are down or slow."""

from __future__ import annotations

import socket

from folio_devstack.pytest_plugin import running_app
from folio_gateway.main import create_app
from folio_gateway.settings import GatewaySettings


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_unreachable_service_is_a_503_problem_and_not_ready():
    url = f"http://127.0.0.1:{dead_port()}"
    settings = GatewaySettings(
        upstream_translation_url=url,
        upstream_community_url=url,
        upstream_users_url=url,
        upstream_worker_url=url,
        auth_jwks_url=f"{url}/jwks",
    )
    async with running_app(create_app(settings)) as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["content-type"] == "application/problem+json"
        response = await client.get("/api/v1/community/categories")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert "community-service is unavailable" in response.json()["detail"]


async def test_body_larger_than_the_limit_is_refused_before_forwarding():
    url = f"http://127.0.0.1:{dead_port()}"
    settings = GatewaySettings(
        upstream_translation_url=url,
        upstream_community_url=url,
        upstream_users_url=url,
        upstream_worker_url=None,
        max_body_bytes=1000,
        auth_jwks_url=f"{url}/jwks",
    )
    async with running_app(create_app(settings)) as client:
        response = await client.post("/api/v1/jobs", content=b"x" * 5000)
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"


async def test_an_invalid_path_is_a_400_problem_not_a_crash():
    url = f"http://127.0.0.1:{dead_port()}"
    settings = GatewaySettings(
        upstream_translation_url=url,
        upstream_community_url=url,
        upstream_users_url=url,
        upstream_worker_url=None,
        auth_jwks_url=f"{url}/jwks",
    )
    async with running_app(create_app(settings)) as client:
        response = await client.delete("/api/v1/jobs/%00")
        assert response.status_code in (400, 503), response.text  # never a 500
        assert response.headers["content-type"] == "application/problem+json"
