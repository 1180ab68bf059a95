"""The job's pool of credentials, shared by all concurrent calls of one client.

Users bring several keys so that one throttled or revoked key does not stall a book: a
refused key is dropped for good, a throttled key rests for as long as the provider asks
while the other keys carry on, and calls only wait when every key is resting. Calls that
waited for a rest to end are released over a jittered spread instead of all at once (a
burst at the end of a cool-down is what earns the next 429). A wait longer than the
caller allows is not waited for: ``acquire`` raises ``LLMDeferred`` so the command can be
re-queued instead of held.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from folio_worker.llm.errors import LLMAuthError, LLMDeferred


@dataclass(frozen=True)
class Credential:
    """One key: ``id`` (a ``key_id`` hash) is safe to log, ``secret`` never is."""

    id: str
    secret: str = field(repr=False)


def full_jitter(attempt: int, base_s: float, cap_s: float) -> float:
    """``uniform(0, min(cap, base·2^attempt))``: spreads retries of many callers apart."""
    ceiling = min(cap_s, base_s * (2 ** min(attempt, 32)))
    return random.uniform(0.0, ceiling)  # noqa: S311 - jitter, not cryptography


@dataclass
class _KeyState:
    credential: Credential
    disabled: bool = False
    cooldown_until: float = 0.0
    rest_s: float = 0.0  # the length of the current (or last) rest
    throttled_streak: int = 0


def release_spread(rest_s: float) -> float:
    """Over how long callers that waited out a rest of ``rest_s`` are let go again."""
    return min(10.0, max(0.25, rest_s / 2))


class KeyPool:
    """Round-robin over usable keys (spreading load across per-key quotas)."""

    def __init__(
        self,
        credentials: Sequence[Credential],
        *,
        refused_reason: str = "every API key was refused",
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not credentials:
            raise ValueError("a key pool needs at least one credential")
        self._keys = [_KeyState(c) for c in credentials]
        self._refused_reason = refused_reason
        self._base = backoff_base_s
        self._cap = backoff_cap_s
        self._clock = clock
        self._sleep = sleep
        self._next = 0
        self._last_refusal: str | None = None

    @property
    def usable(self) -> int:
        """Keys not disabled (resting ones included)."""
        return sum(not k.disabled for k in self._keys)

    def ready_count(self) -> int:
        now = self._clock()
        return sum(not k.disabled and k.cooldown_until <= now for k in self._keys)

    def _pick(self) -> Credential | None:
        now = self._clock()
        count = len(self._keys)
        for step in range(count):
            index = (self._next + step) % count
            state = self._keys[index]
            if not state.disabled and state.cooldown_until <= now:
                self._next = index + 1
                return state.credential
        return None

    async def acquire(self, max_wait_s: float | None = None) -> Credential:
        """The next ready key; waits while all usable keys rest (``LLMDeferred`` when that
        is longer than ``max_wait_s``); raises ``LLMAuthError`` when none is left."""
        while True:
            if self.usable == 0:
                reason = self._refused_reason
                if self._last_refusal:
                    reason = f"{reason}: {self._last_refusal}"
                raise LLMAuthError(reason)
            credential = self._pick()
            if credential is not None:
                return credential
            first = min((k for k in self._keys if not k.disabled), key=lambda k: k.cooldown_until)
            wait = max(0.0, first.cooldown_until - self._clock())
            if max_wait_s is not None and wait > max_wait_s:
                raise LLMDeferred(wait, f"every key is rate limited for {wait:.0f} s")
            jitter = random.uniform(0.0, release_spread(first.rest_s))  # noqa: S311
            await self._sleep(wait + jitter)

    def _state(self, credential: Credential) -> _KeyState:
        for state in self._keys:
            if state.credential.id == credential.id:
                return state
        raise KeyError(credential.id)

    def succeeded(self, credential: Credential) -> None:
        self._state(credential).throttled_streak = 0

    def throttled(self, credential: Credential, retry_after_s: float | None) -> float:
        """Rest a key after a 429 (as long as asked, else exponential); returns the rest."""
        state = self._state(credential)
        now = self._clock()
        if retry_after_s is not None and retry_after_s > 0:
            rest = retry_after_s
        else:
            # Half fixed, half random: a 429 without a hint still deserves a real rest.
            ceiling = min(self._cap, self._base * (2 ** min(state.throttled_streak, 32)))
            rest = ceiling / 2 + random.uniform(0.0, ceiling / 2)  # noqa: S311 - jitter
        # Concurrent calls often hit the same 429 burst: count it once.
        if state.cooldown_until <= now:
            state.throttled_streak += 1
        self.rest(credential, rest)
        return rest

    def rest(self, credential: Credential, seconds: float) -> None:
        """Let a key rest (after our 429, or another replica's, learned from the limiter)."""
        state = self._state(credential)
        until = self._clock() + max(0.0, seconds)
        if until > state.cooldown_until:
            state.cooldown_until = until
            state.rest_s = seconds

    def refuse(self, credential: Credential, detail: str | None = None) -> None:
        """Disable a key for good (the provider said it is not valid / not allowed)."""
        self._state(credential).disabled = True
        if detail:
            self._last_refusal = detail
