"""Rate limits: per user and per address, stricter classes, 429 with the headers clients
need, shared by gateway replicas through Redis (and still enforced when Redis is gone)."""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import httpx

from folio_devstack.stack import free_port

from .conftest import GatewayProcess, bearer


def assert_refused(response: httpx.Response, policy: str, quota: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["request_id"] == response.headers["x-request-id"]
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert response.headers["ratelimit-policy"] == f'"{policy}";q={quota};w=60'
    match = re.fullmatch(rf'"{policy}";r=0;t=(\d+)', response.headers["ratelimit"])
    assert match and int(match.group(1)) == retry_after


async def test_an_expensive_class_is_limited_per_user(client, keys):
    alice, bob = keys.token("alice-limited"), keys.token("bob-limited")
    statuses = []
    for _ in range(4):
        response = await client.post(
            "/api/v1/community/images?fake=sink", headers=bearer(alice), content=b"img"
        )
        statuses.append(response.status_code)
    assert statuses[:3] == [200, 200, 200]
    assert_refused(response, "upload-user", 3)
    # Another user has their own allowance, and cheap routes are not affected.
    ok = await client.post("/api/v1/community/images?fake=sink", headers=bearer(bob), content=b"i")
    assert ok.status_code == 200
    assert (
        await client.get("/api/v1/users/me?fake=echo", headers=bearer(alice))
    ).status_code == 200


async def test_anonymous_callers_are_limited_per_address(client):
    statuses = []
    for _ in range(6):  # analysis without a token: 5 a minute per address
        response = await client.post("/api/v1/analysis/style?fake=echo", content=b"book")
        statuses.append(response.status_code)
    assert statuses[:5] == [200] * 5
    assert_refused(response, "analysis-ip", 5)


async def test_limits_hold_across_two_gateways_sharing_redis(folio_infra, backends, keys, tmp_path):
    assert folio_infra.redis, "Redis is needed (folio-dev infra starts it)"
    prefix = f"folio-test-{uuid.uuid4().hex[:8]}"
    limits = json.dumps({"default": {"user": "6/minute"}})

    def env(redis_url: str) -> dict[str, str]:
        return backends.gateway_env(
            keys, FOLIO_REDIS_URL=redis_url, FOLIO_REDIS_PREFIX=prefix, FOLIO_RATE_LIMITS=limits
        )

    shared = [GatewayProcess(env("redis://127.0.0.1:6379/0")) for _ in range(2)]
    # Redis unreachable: each replica keeps limiting on its own.
    stranded = [GatewayProcess(env(f"redis://127.0.0.1:{free_port()}/0")) for _ in range(2)]
    await asyncio.gather(*(p.start(tmp_path) for p in shared + stranded))
    try:

        async def alternate(processes: list[GatewayProcess], user: str) -> list[int]:
            statuses = []
            headers = bearer(keys.token(user))
            async with httpx.AsyncClient(timeout=10) as client:
                for i in range(12):
                    url = processes[i % 2].url + "/api/v1/users/me?fake=echo"
                    statuses.append((await client.get(url, headers=headers)).status_code)
            return statuses

        statuses = await alternate(shared, "shared-user")
        assert statuses.count(200) == 6, statuses  # one window for both replicas
        assert statuses.count(429) == 6
        statuses = await alternate(stranded, "stranded-user")
        assert statuses.count(200) == 12, statuses  # 6 per replica
        async with httpx.AsyncClient(timeout=10) as client:
            again = await client.get(
                stranded[0].url + "/api/v1/users/me?fake=echo",
                headers=bearer(keys.token("stranded-user")),
            )
        assert_refused(again, "default-user", 6)
        # The process writes its log on its own schedule: give it a moment under load.
        for _ in range(100):
            if "rate-limit storage unavailable" in stranded[0].log():
                break
            await asyncio.sleep(0.1)
        assert "rate-limit storage unavailable" in stranded[0].log()
    finally:
        for process in shared + stranded:
            process.stop()
