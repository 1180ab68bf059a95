"""Rate limits per user (signed-in callers) and per client address (anonymous ones).

Built on ``limits`` (sliding-window counters): in process by default, in Redis when
``redis_url`` is set, so every gateway replica counts against the same windows. If Redis
fails, the gateway keeps limiting in process for a while rather than refusing traffic or
letting it through unlimited. A refusal carries ``Retry-After`` and the IETF draft's
``RateLimit`` / ``RateLimit-Policy`` fields.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from folio_gateway.settings import RateLimitClass

log = logging.getLogger(__name__)
REDIS_RETRY_S = 5.0


@dataclass(frozen=True)
class Refusal:
    policy: str
    limit: int
    window_s: int
    retry_after_s: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"retry-after", str(self.retry_after_s).encode()),
            (b"ratelimit-policy", f'"{self.policy}";q={self.limit};w={self.window_s}'.encode()),
            (b"ratelimit", f'"{self.policy}";r=0;t={self.retry_after_s}'.encode()),
        ]


class RateLimiter:
    def __init__(
        self,
        classes: dict[str, RateLimitClass],
        *,
        redis_url: str | None = None,
        prefix: str = "folio",
        scale: float = 1.0,
    ) -> None:
        self.items: dict[tuple[str, str], list[RateLimitItem]] = {}
        for name, limits_ in classes.items():
            for who in ("user", "ip"):
                spec = getattr(limits_, who)
                items = parse_many(spec) if spec else []
                self.items[(name, who)] = [
                    type(item)(max(1, round(item.amount * scale)), item.multiples, item.namespace)
                    for item in items
                ]
        self._memory = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._shared: SlidingWindowCounterRateLimiter | None = None
        self._redis_storage: RedisStorage | None = None
        if redis_url:
            self._redis_storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                key_prefix=f"{prefix}:ratelimit",
                socket_timeout=0.5,
                socket_connect_timeout=0.5,
            )
            self._shared = SlidingWindowCounterRateLimiter(self._redis_storage)
        self._redis_down_until = 0.0

    def knows(self, name: str) -> bool:
        return (name, "user") in self.items

    async def hit(self, name: str, who: str, key: str) -> Refusal | None:
        """Count one request of class ``name`` by ``key`` (a user id or an address);
        ``who`` is ``"user"`` or ``"ip"``. Returns the refusal if a limit is exceeded."""
        items = self.items.get((name, who))
        if not items:
            return None
        limiter = self._limiter()
        for item in items:
            try:
                allowed = await limiter.hit(item, name, who, key)
            except Exception as exc:  # Redis unreachable: limit in process meanwhile
                if limiter is self._memory:
                    raise
                self._redis_failed(exc)
                limiter = self._memory
                allowed = await limiter.hit(item, name, who, key)
            if not allowed:
                return await self._refusal(limiter, item, name, who, key)
        return None

    def _limiter(self) -> SlidingWindowCounterRateLimiter:
        if self._shared is not None and time.monotonic() >= self._redis_down_until:
            return self._shared
        return self._memory

    def _redis_failed(self, exc: Exception) -> None:
        if time.monotonic() >= self._redis_down_until:
            log.warning(
                "rate-limit storage unavailable (%s); limiting in process for %.0f s",
                type(exc).__name__,
                REDIS_RETRY_S,
            )
        self._redis_down_until = time.monotonic() + REDIS_RETRY_S

    async def _refusal(
        self,
        limiter: SlidingWindowCounterRateLimiter,
        item: RateLimitItem,
        name: str,
        who: str,
        key: str,
    ) -> Refusal:
        try:
            stats = await limiter.get_window_stats(item, name, who, key)
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        except Exception:  # the window's reset time is only advice
            retry_after = item.get_expiry()
        return Refusal(
            policy=f"{name}-{who}",
            limit=item.amount,
            window_s=item.get_expiry(),
            retry_after_s=min(retry_after, item.get_expiry()),
        )

    async def close(self) -> None:
        if self._redis_storage is not None:
            bridge = getattr(self._redis_storage, "bridge", None)
            storage = getattr(bridge, "storage", None)
            if storage is not None and hasattr(storage, "aclose"):
                await storage.aclose()
