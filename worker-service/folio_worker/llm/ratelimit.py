"""Pacing per API key: requests per minute, tokens per minute, and shared cool-downs.

A user's key has one quota at the provider no matter how many worker replicas use it, so
pacing is shared: ``RedisRateLimiter`` keeps, per key, the next free slot of its request
schedule, the next free slot of its token schedule, and the end of its cool-down, and
reserves slots atomically on Redis's clock (replicas with skewed clocks still agree).

* RPM: slots ``60/rpm`` seconds apart. TPM: each call reserves ``cost·60/tpm`` seconds of
  the token schedule, ``cost`` being its estimated input plus its output limit (what
  OpenAI counts against the quota up front); ``settle`` corrects it by what the call
  really used. Neither allows a burst, so no window of a minute ever sees more than the
  limit (plus the one call that crosses the window's edge).
* A 429 anywhere starts a cool-down every replica sees: reservations during it are refused
  with the time left, and the key pool rests the key (releasing waiters with jitter).
* A slot further away than the caller may wait is not reserved at all (``Later``): the
  command is re-queued with a delay instead of being held past the broker's timeout.

Pacing is an optimisation (the provider's 429s remain the real limit, and the client
handles them), so a Redis outage degrades to per-process pacing instead of failing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Redis's clock in µs, for the scripts below and the concurrency cap's.
NOW_LUA = """
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
"""

# The keys: request schedule, token schedule, cool-down end (µs, Redis clock). Intervals:
# the request interval µs (0 = none), the token interval µs of this call (0 = none);
# max_wait: the longest wait µs the caller accepts (-1 = any). Returns {status, µs}:
# 0 = reserved, wait that long; 1 = cooling down for that long (nothing reserved); 2 = the
# slot is that far away, beyond the caller's wait (nothing reserved). A Lua function, so
# that the concurrency cap can take a slot and reserve in one script (``concurrency.py``).
RESERVE_LUA = """
local function reserve(requests, tokens, cool, rpm_interval, tpm_interval, max_wait, now)
  local cooling = tonumber(redis.call('GET', cool) or '0')
  if cooling > now then return {1, string.format('%.0f', cooling - now)} end
  local slot = now
  if rpm_interval > 0 then slot = math.max(slot, tonumber(redis.call('GET', requests) or '0')) end
  if tpm_interval > 0 then slot = math.max(slot, tonumber(redis.call('GET', tokens) or '0')) end
  local wait = slot - now
  if max_wait >= 0 and wait > max_wait then return {2, string.format('%.0f', wait)} end
  if rpm_interval > 0 then
    local after = slot + rpm_interval
    redis.call('SET', requests, string.format('%.0f', after),
               'PX', math.floor((after - now) / 1000) + 60000)
  end
  if tpm_interval > 0 then
    local after = slot + tpm_interval
    redis.call('SET', tokens, string.format('%.0f', after),
               'PX', math.floor((after - now) / 1000) + 60000)
  end
  return {0, string.format('%.0f', wait)}
end
"""

# KEYS: the three schedules; ARGV: the two intervals and max_wait, as above.
_RESERVE = (
    NOW_LUA
    + RESERVE_LUA
    + """
return reserve(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1]), tonumber(ARGV[2]),
               tonumber(ARGV[3]), now())
"""
)

# KEYS[1]: a schedule; ARGV[1]: µs to add (negative gives time back, never before now).
_SHIFT = """
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local after = math.max(now, tonumber(value) + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%.0f', after),
           'PX', math.floor((after - now) / 1000) + 60000)
return 1
"""

# KEYS[1]: cool-down end; ARGV[1]: its length µs (extends, never shortens).
_COOL_DOWN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > current then
  redis.call('SET', KEYS[1], string.format('%.0f', until_),
             'PX', math.floor(tonumber(ARGV[1]) / 1000) + 1000)
end
return 1
"""

# After a Redis failure, do not try Redis again for this long (each try may cost a timeout).
_REDIS_RETRY_AFTER_S = 15.0


def interval_s(requests_per_minute: int) -> float:
    return 60.0 / max(1, requests_per_minute)


@dataclass(frozen=True)
class Pace:
    """A key's limits; ``None`` means not paced on that axis."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.requests_per_minute or self.tokens_per_minute)

    def intervals_us(self, cost_tokens: int) -> tuple[int, int]:
        rpm = self.requests_per_minute
        tpm = self.tokens_per_minute
        return (
            max(1, round(60e6 / rpm)) if rpm else 0,
            max(1, round(60e6 * max(1, cost_tokens) / tpm)) if tpm else 0,
        )


@dataclass(frozen=True)
class Reservation:
    """``go``: the slot is reserved, start after ``wait_s``; ``cooling``: the key rests for
    ``wait_s`` (after a 429); ``later``: the next slot is ``wait_s`` away, beyond the wait
    the caller accepts; nothing was reserved."""

    status: Literal["go", "cooling", "later"]
    wait_s: float


class RateLimiter(Protocol):
    async def reserve(
        self, key_id: str, pace: Pace, cost_tokens: int = 1, max_wait_s: float | None = None
    ) -> Reservation: ...

    async def settle(self, key_id: str, pace: Pace, extra_tokens: int) -> None:
        """Correct the token schedule by what a call used beyond (or below) its estimate."""
        ...

    async def cool_down(self, key_id: str, seconds: float) -> None:
        """Make every caller of this key rest for ``seconds`` (a 429 was answered)."""
        ...

    async def acquire(self, key_id: str, requests_per_minute: int) -> None:
        """Wait for (and take) the key's next request slot."""
        ...


class InProcessRateLimiter:
    """The same schedules for the tasks of this process (one event loop)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._requests: dict[str, float] = {}
        self._tokens: dict[str, float] = {}
        self._cooling: dict[str, float] = {}

    async def reserve(
        self, key_id: str, pace: Pace, cost_tokens: int = 1, max_wait_s: float | None = None
    ) -> Reservation:
        now = self._clock()
        cooling = self._cooling.get(key_id, 0.0)
        if cooling > now:
            return Reservation("cooling", cooling - now)
        rpm_us, tpm_us = pace.intervals_us(cost_tokens)
        slot = now
        if rpm_us:
            slot = max(slot, self._requests.get(key_id, 0.0))
        if tpm_us:
            slot = max(slot, self._tokens.get(key_id, 0.0))
        wait = slot - now
        if max_wait_s is not None and wait > max_wait_s:
            return Reservation("later", wait)
        if rpm_us:
            self._requests[key_id] = slot + rpm_us / 1e6
        if tpm_us:
            self._tokens[key_id] = slot + tpm_us / 1e6
        return Reservation("go", wait)

    async def settle(self, key_id: str, pace: Pace, extra_tokens: int) -> None:
        if not pace.tokens_per_minute or key_id not in self._tokens or not extra_tokens:
            return
        shift = 60.0 * extra_tokens / pace.tokens_per_minute
        self._tokens[key_id] = max(self._clock(), self._tokens[key_id] + shift)

    async def cool_down(self, key_id: str, seconds: float) -> None:
        until = self._clock() + max(0.0, seconds)
        self._cooling[key_id] = max(self._cooling.get(key_id, 0.0), until)

    async def acquire(self, key_id: str, requests_per_minute: int) -> None:
        await _take(self, key_id, requests_per_minute)


async def _take(limiter: RateLimiter, key_id: str, requests_per_minute: int) -> None:
    while True:
        reservation = await limiter.reserve(key_id, Pace(requests_per_minute))
        await asyncio.sleep(reservation.wait_s)
        if reservation.status == "go":
            return


class RedisRateLimiter:
    """Schedules shared by every replica through Redis; per process while Redis is down."""

    def __init__(self, client: aioredis.Redis, prefix: str = "folio:rpm") -> None:
        self._prefix = prefix
        self._redis = client
        self._reserve = self._redis.register_script(_RESERVE)
        self._shift = self._redis.register_script(_SHIFT)
        self._cool = self._redis.register_script(_COOL_DOWN)
        self._fallback = InProcessRateLimiter()
        self._down_until = 0.0
        self._warned = False

    def _keys(self, key_id: str) -> list[str]:
        # The request schedule keeps its historical name (``<prefix>:<key>``).
        base = f"{self._prefix}:{key_id}"
        return [base, f"{base}:tokens", f"{base}:cooling"]

    def _up(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: Exception) -> None:
        self._down_until = time.monotonic() + _REDIS_RETRY_AFTER_S
        if not self._warned:
            self._warned = True
            log.warning(
                "rate limiter: Redis unavailable (%s); pacing per process instead",
                type(exc).__name__,
            )

    def _recovered(self) -> None:
        if self._warned:
            self._warned = False
            log.info("rate limiter: Redis is back; pacing is shared again")

    def shares(self, client: aioredis.Redis) -> bool:
        """Whether the schedules are kept in ``client``'s Redis and it is in use now: a
        script there may reserve for this limiter (``reservation_script``)."""
        return client is self._redis and self._up()

    def reservation_script(
        self, key_id: str, pace: Pace, cost_tokens: int, max_wait_s: float | None
    ) -> tuple[list[str], list[int]]:
        """The keys and arguments of ``RESERVE_LUA``'s ``reserve`` for this call."""
        rpm_us, tpm_us = pace.intervals_us(cost_tokens)
        max_wait_us = -1 if max_wait_s is None else round(max_wait_s * 1e6)
        return self._keys(key_id), [rpm_us, tpm_us, max_wait_us]

    def reservation(self, status: object, wait_us: object) -> Reservation:
        """The reservation a ``reserve`` script answered."""
        self._recovered()
        kind = {0: "go", 1: "cooling", 2: "later"}[int(status)]  # type: ignore[call-overload]
        return Reservation(kind, int(wait_us) / 1e6)  # type: ignore[arg-type,call-overload]

    async def reserve(
        self, key_id: str, pace: Pace, cost_tokens: int = 1, max_wait_s: float | None = None
    ) -> Reservation:
        if self._up():
            keys, args = self.reservation_script(key_id, pace, cost_tokens, max_wait_s)
            try:
                status, wait_us = await self._reserve(keys=keys, args=args)
            except (RedisError, OSError) as exc:
                self._failed(exc)
            else:
                return self.reservation(status, wait_us)
        return await self._fallback.reserve(key_id, pace, cost_tokens, max_wait_s)

    async def settle(self, key_id: str, pace: Pace, extra_tokens: int) -> None:
        if not pace.tokens_per_minute or not extra_tokens:
            return
        if self._up():
            shift_us = round(60e6 * extra_tokens / pace.tokens_per_minute)
            try:
                await self._shift(keys=[self._keys(key_id)[1]], args=[shift_us])
                return
            except (RedisError, OSError) as exc:
                self._failed(exc)
        await self._fallback.settle(key_id, pace, extra_tokens)

    async def cool_down(self, key_id: str, seconds: float) -> None:
        await self._fallback.cool_down(key_id, seconds)
        if self._up() and seconds > 0:
            try:
                await self._cool(keys=[self._keys(key_id)[2]], args=[round(seconds * 1e6)])
            except (RedisError, OSError) as exc:
                self._failed(exc)

    async def acquire(self, key_id: str, requests_per_minute: int) -> None:
        await _take(self, key_id, requests_per_minute)
