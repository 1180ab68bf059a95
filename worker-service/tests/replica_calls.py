"""One worker replica's share of a limits test: run as its own process.

``python replica_calls.py <json>`` builds its model client the way the worker does (its
settings, :func:`folio_worker.clients.key_limits` on one Redis, the client factory with the
job's sealed provider config), makes ``calls`` calls (concurrently, or one after another
with ``sequential``; once an entry arrives on the Redis list ``after``, if given;
pushing one to ``done`` when answered), then prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys

from cryptography.fernet import Fernet
from redis.asyncio import Redis

from folio.contracts.providers import ProviderConfig
from folio.credentials import CredentialSealer
from folio_worker.clients import ClientFactory, key_limits
from folio_worker.engine.calls import MemoryCache
from folio_worker.llm import LLMRequest
from folio_worker.llm.transport import AiohttpTransport
from folio_worker.redis_client import connect_redis
from folio_worker.settings import WorkerSettings


async def handover(redis: Redis, key: str) -> None:
    for _ in range(60):  # 1 s at a time: below the client's socket timeout
        if await redis.blpop([key], timeout=1):
            return
    raise SystemExit(f"no word on {key} within a minute")


async def main(spec: dict) -> None:
    sealing = Fernet.generate_key().decode()
    settings = WorkerSettings(
        redis_url=spec["redis_url"], redis_prefix=spec["prefix"], credentials_key=sealing
    )
    assert settings.redis_url is not None
    redis = connect_redis(settings.redis_url)
    http = AiohttpTransport(timeout_s=30)
    limiter, slots = key_limits(settings, redis)
    clients = ClientFactory(settings, http, limiter, MemoryCache(), slots)
    cfg = ProviderConfig.model_validate(spec["config"])
    client = clients.caller(cfg.model, CredentialSealer(sealing).seal(cfg), reuse=False).client
    limit = spec.get("max_output_tokens")
    requests = [
        LLMRequest(f"{spec['prompt']} #{i}", max_output_tokens=limit) for i in range(spec["calls"])
    ]
    try:
        await asyncio.sleep(max(0.0, spec["start_at"] - asyncio.get_running_loop().time()))
        if spec.get("after"):  # another replica's turn first: wait for its word
            await handover(redis, spec["after"])
        if spec.get("sequential"):
            answers = [await client.generate(r) for r in requests]
        else:
            answers = await asyncio.gather(*(client.generate(r) for r in requests))
        if spec.get("done"):
            await redis.rpush(spec["done"], "done")
    finally:
        await http.aclose()
        await redis.aclose()
    print(json.dumps({"answers": len([a for a in answers if a.text])}))


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
