"""Spending limits, checked before every model call: the job's cap and the user's daily
allowance on the deployment's own key.

Each HTTP attempt reserves its estimated cost (its prompt plus its output limit, or the
prompt again) and is sent only if what the job has spent, plus what calls in progress
hold, plus this reservation stays within the cap; once answered it settles what the
provider really billed. With Redis the ledger is shared by every worker replica (one Lua
script, on Redis's clock); a reservation is a lease, so a killed worker's holds lapse by
themselves. Without Redis (or for a while after a Redis error) the ledger is per process.

A call that only the holds of calls in progress keep out waits for them to settle; one
that what was spent keeps out raises ``SpendRefused``: nothing beyond the limit is spent,
and the job pauses with the reason. The ledger starts from what translation-service says the job had
spent (``SpendLimits.spent_tokens``) and never goes below it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from folio.contracts import SpendLimits
from folio_worker.llm.errors import CallsStopped, SpendRefused

log = logging.getLogger(__name__)

# A reservation lapses after this long (the longest a call may take, with a margin).
LEASE_S = 360.0
# A job's ledger outlives pauses of a week.
LEDGER_TTL_S = 7 * 86400
FALLBACK_S = 15.0
# How long a call waits for calls in progress to settle before it counts as refused.
HOLD_WAIT_S = 120.0

# KEYS: job ledger (hash: used), job holds (zset: "cost:ticket" -> lease end), quota
# ledger, quota holds. ARGV: cap (-1: none), spent floor, cost, quota limit (-1: none),
# ticket, lease s, ttl s. Returns {status, used, held}: 1 reserved; 0 over the cap;
# -1 over the daily allowance (used and held are then the quota's).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function held(zset)
  redis.call('ZREMRANGEBYSCORE', zset, '-inf', now)
  local total = 0
  for _, member in ipairs(redis.call('ZRANGE', zset, 0, -1)) do
    total = total + tonumber(string.match(member, '^(%d+):'))
  end
  return total
end
local cap = tonumber(ARGV[1])
local floor = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local member = ARGV[3] .. ':' .. ARGV[5]
local lease = now + tonumber(ARGV[6])
local ttl = tonumber(ARGV[7])
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
if floor > used then
  used = floor
  redis.call('HSET', KEYS[1], 'used', used)
end
if cap >= 0 then
  local h = held(KEYS[2])
  if used + h + cost > cap then return {0, used, h} end
end
if limit >= 0 then
  local quota_used = tonumber(redis.call('HGET', KEYS[3], 'used') or '0')
  local quota_held = held(KEYS[4])
  if quota_used + quota_held + cost > limit then return {-1, quota_used, quota_held} end
  redis.call('ZADD', KEYS[4], lease, member)
  redis.call('EXPIRE', KEYS[4], ttl)
  redis.call('HSETNX', KEYS[3], 'used', 0)
  redis.call('EXPIRE', KEYS[3], ttl)
end
redis.call('ZADD', KEYS[2], lease, member)
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('EXPIRE', KEYS[1], ttl)
return {1, used, 0}
"""

# KEYS as above; ARGV: member, tokens used, whether a quota is held ("1").
_SETTLE = """
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'used', ARGV[2])
if ARGV[3] == '1' then
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('HINCRBY', KEYS[3], 'used', ARGV[2])
end
return 1
"""


@dataclass(frozen=True)
class Hold:
    """One reserved attempt."""

    job_id: int
    cost: int
    ticket: str
    quota_key: str | None

    @property
    def member(self) -> str:
        return f"{self.cost}:{self.ticket}"


@dataclass(frozen=True)
class Verdict:
    status: int  # 1 reserved, 0 over the cap, -1 over the daily allowance
    used: int
    held: int


def quota_day(now: float | None = None) -> str:
    return datetime.fromtimestamp(now or time.time(), UTC).strftime("%Y%m%d")


class SpendLedger(Protocol):
    async def reserve(self, hold: Hold, limits: SpendLimits) -> Verdict: ...

    async def settle(self, hold: Hold, used: int) -> None: ...


@dataclass
class _Book:
    used: int = 0
    holds: dict[str, tuple[int, float]] = field(default_factory=dict)

    def held(self, now: float) -> int:
        for member, (_, lease) in list(self.holds.items()):
            if lease <= now:
                del self.holds[member]
        return sum(cost for cost, _ in self.holds.values())


class MemoryLedger:
    """The same rules in one process (no Redis)."""

    def __init__(self) -> None:
        self._books: dict[str, _Book] = {}

    def _book(self, key: str) -> _Book:
        return self._books.setdefault(key, _Book())

    async def reserve(self, hold: Hold, limits: SpendLimits) -> Verdict:
        now = time.monotonic()
        job = self._book(f"job:{hold.job_id}")
        job.used = max(job.used, limits.spent_tokens)
        if limits.max_tokens is not None:
            held = job.held(now)
            if job.used + held + hold.cost > limits.max_tokens:
                return Verdict(0, job.used, held)
        if hold.quota_key is not None and limits.quota is not None:
            quota = self._book(hold.quota_key)
            held = quota.held(now)
            if quota.used + held + hold.cost > limits.quota.tokens_per_day:
                return Verdict(-1, quota.used, held)
            quota.holds[hold.member] = (hold.cost, now + LEASE_S)
        job.holds[hold.member] = (hold.cost, now + LEASE_S)
        return Verdict(1, job.used, 0)

    async def settle(self, hold: Hold, used: int) -> None:
        job = self._book(f"job:{hold.job_id}")
        job.holds.pop(hold.member, None)
        job.used += used
        if hold.quota_key is not None:
            quota = self._book(hold.quota_key)
            quota.holds.pop(hold.member, None)
            quota.used += used


class RedisLedger:
    """Shared by every replica; falls back to the process for a while after an error."""

    def __init__(self, client: aioredis.Redis, prefix: str = "folio:spend") -> None:
        self._redis = client
        self.prefix = prefix
        self._reserve = client.register_script(_RESERVE)
        self._settle = client.register_script(_SETTLE)
        self._fallback = MemoryLedger()
        self._fallback_until = 0.0
        self._local: set[str] = set()  # holds taken from the fallback

    def _keys(self, hold: Hold) -> list[str]:
        job = f"{self.prefix}:job:{hold.job_id}"
        quota = f"{self.prefix}:{hold.quota_key}" if hold.quota_key else f"{job}:no-quota"
        return [job, f"{job}:holds", quota, f"{quota}:holds"]

    async def reserve(self, hold: Hold, limits: SpendLimits) -> Verdict:
        if time.monotonic() >= self._fallback_until:
            quota = limits.quota.tokens_per_day if limits.quota and hold.quota_key else -1
            try:
                status, used, held = await self._reserve(
                    keys=self._keys(hold),
                    args=[
                        limits.max_tokens if limits.max_tokens is not None else -1,
                        limits.spent_tokens,
                        hold.cost,
                        quota,
                        hold.ticket,
                        LEASE_S,
                        LEDGER_TTL_S,
                    ],
                )
                return Verdict(int(status), int(used), int(held))
            except RedisError as exc:
                log.warning("spend ledger: Redis unavailable (%s); per process", type(exc).__name__)
                self._fallback_until = time.monotonic() + FALLBACK_S
        self._local.add(hold.ticket)
        return await self._fallback.reserve(hold, limits)

    async def settle(self, hold: Hold, used: int) -> None:
        if hold.ticket in self._local:
            self._local.discard(hold.ticket)
            await self._fallback.settle(hold, used)
            return
        try:
            await self._settle(
                keys=self._keys(hold),
                args=[hold.member, used, "1" if hold.quota_key else "0"],
            )
        except RedisError as exc:  # the lease lapses by itself; the spend is still counted
            log.warning("spend ledger: settle failed (%s)", type(exc).__name__)
            await self._fallback.settle(hold, used)


class CommandSpend:
    """One command's calls against its job's limits; stopped once the command ends early
    (a sibling call deferred or was refused), so no new call starts for it."""

    def __init__(self, ledger: SpendLedger, job_id: int, limits: SpendLimits | None) -> None:
        self.ledger = ledger
        self.job_id = job_id
        self.limits = limits or SpendLimits()
        self.stopped: str | None = None
        quota = self.limits.quota
        self._quota_key = f"quota:{quota.holder}:{quota_day()}" if quota else None

    @property
    def limited(self) -> bool:
        return self.limits.max_tokens is not None or self.limits.quota is not None

    def stop(self, reason: str) -> None:
        if self.stopped is None:
            self.stopped = reason

    async def admit(self, cost: int) -> Hold | None:
        if self.stopped is not None:
            raise CallsStopped(self.stopped)
        if not self.limited:
            return None  # nothing to check: no round trip
        hold = Hold(self.job_id, max(1, cost), uuid.uuid4().hex, self._quota_key)
        deadline = time.monotonic() + HOLD_WAIT_S
        while True:
            verdict = await self.ledger.reserve(hold, self.limits)
            if verdict.status == 1:
                return hold
            if verdict.used + hold.cost > self._limit(verdict) or time.monotonic() > deadline:
                break
            # Only calls in progress stand in the way: they may well cost less than they
            # hold, so wait for them to settle rather than pause the job early.
            await asyncio.sleep(random.uniform(0.05, 0.25))  # noqa: S311  # jitter
            if self.stopped is not None:
                raise CallsStopped(self.stopped)
        reason = self._refusal(verdict, hold.cost)
        self.stop(reason)
        raise SpendRefused(reason, self.limits.max_tokens if verdict.status == 0 else None)

    async def settle(self, hold: Hold | None, used: int) -> None:
        if hold is not None:
            await self.ledger.settle(hold, used)

    def _limit(self, verdict: Verdict) -> int:
        if verdict.status == 0:
            return self.limits.max_tokens or 0
        return self.limits.quota.tokens_per_day if self.limits.quota else 0

    def _refusal(self, verdict: Verdict, cost: int) -> str:
        if verdict.status == 0:
            return (
                f"Paused: the next model call (about {cost} tokens) would pass the spending "
                f"cap of {self.limits.max_tokens} tokens ({verdict.used} spent, "
                f"{verdict.held} held by calls in progress). Raise max_tokens and resume "
                "the job."
            )
        quota = self.limits.quota
        assert quota is not None
        return (
            f"Paused: your daily allowance of {quota.tokens_per_day} tokens on this "
            f"service's own model is used up ({verdict.used} used today, "
            f"{verdict.held} held by calls in progress). It renews at 00:00 UTC: resume "
            "the job then, or resume it with your own API key."
        )
