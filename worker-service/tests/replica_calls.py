"""One worker replica's share of a limits test: run as its own process.

``python replica_calls.py <json>`` makes ``calls`` concurrent calls with the production
client, the Redis limiter and the Redis concurrency cap, then prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys

from folio.contracts.providers import ProviderConfig
from folio_worker.llm import LLMClient, LLMRequest, RedisConcurrency, RedisRateLimiter
from folio_worker.llm.transport import AiohttpTransport
from folio_worker.redis_client import connect_redis


async def main(spec: dict) -> None:
    redis = connect_redis(spec["redis_url"])
    http = AiohttpTransport(timeout_s=30)
    cfg = ProviderConfig.model_validate(spec["config"])
    client = LLMClient(
        cfg,
        http,  # type: ignore[arg-type]
        limiter=RedisRateLimiter(redis, prefix=spec["prefix"] + ":rpm"),
        slots=RedisConcurrency(redis, prefix=spec["prefix"] + ":slots"),
        max_concurrency_per_key=64,
        backoff_base_s=0.01,
        backoff_cap_s=0.05,
    )
    try:
        await asyncio.sleep(max(0.0, spec["start_at"] - asyncio.get_running_loop().time()))
        answers = await asyncio.gather(
            *(client.generate(LLMRequest(f"{spec['prompt']} #{i}")) for i in range(spec["calls"]))
        )
    finally:
        await http.aclose()
        await redis.aclose()
    print(json.dumps({"answers": len([a for a in answers if a.text])}))


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
