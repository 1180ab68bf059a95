"""Model calls as the engine makes them: cached, recorded, and attributed to a phase.

Every HTTP attempt is recorded (for usage accounting) into the collector of the command
being handled; the collector travels in a context variable, so concurrent commands of the
same job can share one client (and its key pool) without mixing their records. A response
cache keyed by model, prompt and schema makes a redelivered command, or an identical
prompt, cost nothing.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import json
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel

from folio.contracts import ENGINE_VERSION, CallRecord
from folio_worker.llm import CallUsage, LLMClient, LLMRequest
from folio_worker.llm.errors import CallsStopped, LLMDeferred
from folio_worker.llm.gate import CallStart

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from folio_worker.engine.journal import AnalysisOwner, Payer, UsageJournal
    from folio_worker.engine.spend import CommandSpend, Hold

log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)
R = TypeVar("R")


@dataclass
class CallCollector:
    """The calls of the command being handled: what its result event reports, what the
    journal is told as each call is answered, and the limits each call is checked against.
    """

    phase: str = "translation"
    records: list[CallRecord] = field(default_factory=list)
    job_id: int | None = None
    segment_index: int | None = None
    spend: CommandSpend | None = None
    journal: UsageJournal | None = None
    # An analysis without a job journals its calls as the signed-in caller's.
    owner: AnalysisOwner | None = None
    _unjournaled: list[CallRecord] = field(default_factory=list)
    journaled: list[str] = field(default_factory=list)  # journal entry ids

    def add(self, usage: CallUsage, *, cached: bool = False) -> None:
        record = CallRecord(
            phase=self.phase,  # type: ignore[arg-type]
            model=usage.model,
            call_id=usage.call_id or uuid.uuid4().hex,
            key_id=usage.key_id,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            thinking_tokens=usage.thinking_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            latency_ms=usage.latency_ms,
            outcome=usage.outcome,
            cached=cached,
            estimated=usage.estimated,
        )
        self.records.append(record)
        if not cached:
            self._unjournaled.append(record)

    @property
    def payer(self) -> Payer | None:
        """Whose the calls are in the journal (None: nobody's, nothing journaled)."""
        return self.job_id if self.job_id is not None else self.owner

    def stop(self, reason: str) -> None:
        """No new call for this command (a sibling ended it)."""
        if self.spend is not None:
            self.spend.stop(reason)

    async def admit(self, call: CallStart) -> Ticket:
        """Reserve the call against the limits, then note it as in flight: if this worker
        dies before the answer is seen, another records it (at ``call.cost``, estimated)."""
        hold = await self.spend.admit(call.cost) if self.spend is not None else None
        if self.journal is not None and (payer := self.payer) is not None:
            started = CallRecord(
                phase=self.phase,  # type: ignore[arg-type]
                model=call.model,
                call_id=call.call_id,
                key_id=call.key_id,
                input_tokens=call.input_tokens,
                output_tokens=call.output_tokens,
                outcome="lost",
                estimated=True,
            )
            await self.journal.begin(payer, self.segment_index, started)
        return Ticket(hold, call.call_id, call.output_tokens if hold is not None else None)

    async def settle(self, ticket: Ticket, used: int) -> None:
        if self.spend is not None:
            await self.spend.settle(ticket.hold, used)
        await self.flush(finished=[ticket.call_id])

    async def flush(self, finished: Sequence[str] = ()) -> None:
        """Journal the calls answered so far (before their answers are used), and take
        the ``finished`` ones off the in-flight list in the same step."""
        if self.journal is None or (payer := self.payer) is None:
            return
        if not self._unjournaled and not finished:
            return
        pending, self._unjournaled = self._unjournaled, []
        self.journaled += await self.journal.append(
            payer, self.segment_index, pending, finished=finished
        )

    async def reported(self) -> None:
        """The command's result carried its calls: the journal need not report them."""
        if self.journal is not None and self.journaled:
            ids, self.journaled = self.journaled, []
            await self.journal.forget(ids)


current_collector: contextvars.ContextVar[CallCollector | None] = contextvars.ContextVar(
    "folio_call_collector", default=None
)


def record_call(usage: CallUsage) -> None:
    """The LLM client's ``on_call`` hook."""
    collector = current_collector.get()
    if collector is not None:
        collector.add(usage)


@dataclass(frozen=True)
class Ticket:
    hold: Hold | None
    call_id: str
    # The call is sent with this output limit: what it reserved, so that no answer can
    # bill more output than its reservation (None: no limits to keep).
    output_limit: int | None = None


# A command that wants a new call while the worker stops is re-queued after this long.
STOPPING_DEFER_S = 1.0


class Stopping:
    """Set once the worker is told to stop (SIGTERM): no new model call starts, so the
    calls in flight finish (their usage recorded) and their commands are re-queued."""

    def __init__(self) -> None:
        self.stopping = False

    async def begin(self) -> None:
        if not self.stopping:
            log.info("worker stopping: calls in flight finish, no new call starts")
        self.stopping = True


class CommandGate:
    """The LLM client's gate: the current command's limits and journal."""

    def __init__(self, stopping: Stopping | None = None) -> None:
        self.stopping = stopping or Stopping()

    async def admit(self, call: CallStart) -> object:
        if self.stopping.stopping:
            # Not an error: the command goes back to the queue, for this or another worker.
            raise LLMDeferred(STOPPING_DEFER_S, "the worker is stopping")
        collector = current_collector.get()
        return await collector.admit(call) if collector is not None else None

    async def settle(self, ticket: object, used: int) -> None:
        collector = current_collector.get()
        if collector is not None and isinstance(ticket, Ticket):
            await collector.settle(ticket, used)


class ResponseCache(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def get_many(self, keys: list[str]) -> list[str | None]: ...

    async def set(self, key: str, value: str) -> None: ...


class MemoryCache:
    """In-process LRU: enough for one worker replica without Redis."""

    def __init__(self, max_entries: int = 20000) -> None:
        self._data: OrderedDict[str, str] = OrderedDict()
        self.max_entries = max_entries

    async def get(self, key: str) -> str | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    async def get_many(self, keys: list[str]) -> list[str | None]:
        return [await self.get(key) for key in keys]

    async def set(self, key: str, value: str) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)


class RedisCache:
    """Shared by every worker replica; a redelivered command finds its answers here."""

    def __init__(
        self, client: Redis, ttl_s: int = 30 * 86400, prefix: str = "folio:llm-cache"
    ) -> None:
        self._redis = client
        self.ttl_s = ttl_s
        self.prefix = prefix
        self._fallback = MemoryCache()

    async def get(self, key: str) -> str | None:
        try:
            value = await self._redis.get(f"{self.prefix}:{key}")
        except Exception as exc:  # Redis down: the cache is an optimisation only
            log.warning("response cache unavailable: %s", type(exc).__name__)
            return await self._fallback.get(key)
        return value.decode() if value is not None else None

    async def get_many(self, keys: list[str]) -> list[str | None]:
        if not keys:
            return []
        try:
            values = await self._redis.mget([f"{self.prefix}:{key}" for key in keys])
        except Exception as exc:
            log.warning("response cache unavailable: %s", type(exc).__name__)
            return await self._fallback.get_many(keys)
        return [v.decode() if v is not None else None for v in values]

    async def set(self, key: str, value: str) -> None:
        try:
            await self._redis.set(f"{self.prefix}:{key}", value, ex=self.ttl_s)
        except Exception:
            await self._fallback.set(key, value)


@dataclass(frozen=True)
class TextAnswer:
    text: str
    finish: str
    cached: bool


# A prompt's cache key is asked for when it is looked up, sent and remembered, by the
# commands of one job and across them (a prompt is one of a plan's, built once by the
# planner): hashed once per process. A prompt string hashes once for the dict too.
_KEPT_KEYS = 2048
_KEYS: OrderedDict[tuple[str, str, str, str, str, Any], str] = OrderedDict()


@functools.lru_cache(maxsize=256)
def _schema_json(schema: type[BaseModel]) -> str:
    return json.dumps(schema.model_json_schema(), sort_keys=True)


class ModelCaller:
    """``scope`` is whose earlier answers may be reused (the job's ``reuse_scope``): it is
    part of every cache key, so one user's answers are never served to another user.
    ``reuse=False`` reads nothing from the cache (the owner asked for a fresh answer) but
    still stores what passes."""

    def __init__(
        self, client: LLMClient, cache: ResponseCache, *, scope: str = "", reuse: bool = True
    ) -> None:
        self.client = client
        self.cache = cache
        self.scope = scope
        self.reuse = reuse
        # Answers looked up in advance for a batch of prompts (None: looked up, not there).
        self._looked_up: dict[str, str | None] = {}

    async def look_up(self, prompts: list[str], schema: type[BaseModel] | None = None) -> None:
        """One cache round trip for a whole batch of prompts about to be sent (text, or
        structured with ``schema``), instead of one per prompt: a segment's units, or a
        book's analysis chunks, go out together."""
        if not self.reuse:
            return
        keys = [self._prompt_key(prompt, schema) for prompt in prompts]
        for key, value in zip(keys, await self.cache.get_many(keys), strict=True):
            self._looked_up[key] = value

    def _prompt_key(self, prompt: str, schema: type[BaseModel] | None) -> str:
        if schema is None:
            return self._key("text", prompt)
        return self._key("json", prompt, _schema_json(schema))

    async def _cached_text(self, key: str) -> str | None:
        if not self.reuse:
            return None
        if key in self._looked_up:
            return self._looked_up.pop(key)
        return await self.cache.get(key)

    @property
    def model(self) -> str:
        return self.client.model

    def _key(self, kind: str, prompt: str, extra: Any = None) -> str:
        memo = (self.scope, self.client.endpoint, self.client.model, kind, prompt, extra)
        key = _KEYS.get(memo)
        if key is None:
            key = self._hash(kind, prompt, extra)
            _KEYS[memo] = key
            while len(_KEYS) > _KEPT_KEYS:
                _KEYS.popitem(last=False)
        return key

    def prepare(self, prompts: Iterable[str]) -> None:
        """Hash these text prompts' cache keys now (they are kept for this process): the
        planner does it for the first translation calls while it waits for their commands."""
        for prompt in prompts:
            self._key("text", prompt)

    def _hash(self, kind: str, prompt: str, extra: Any) -> str:
        raw = json.dumps(
            [
                ENGINE_VERSION,
                self.scope,
                self.client.endpoint,
                self.client.model,
                kind,
                prompt,
                extra,
            ],
            ensure_ascii=False,
        )
        return hashlib.sha256(raw.encode()).hexdigest()

    def _cached_record(self) -> None:
        collector = current_collector.get()
        if collector is not None:
            collector.add(
                CallUsage(
                    model=self.client.model,
                    key_id=None,
                    input_tokens=0,
                    output_tokens=0,
                    thinking_tokens=0,
                    latency_ms=0.0,
                    outcome="cache",
                ),
                cached=True,
            )

    async def structured(self, prompt: str, schema: type[T]) -> T:
        key = self._prompt_key(prompt, schema)
        if (hit := await self._cached_text(key)) is not None:
            self._cached_record()
            return schema.model_validate_json(hit)
        response = await self.client.generate(LLMRequest(prompt=prompt, schema=schema))
        assert response.parsed is not None
        await self.cache.set(key, response.parsed.model_dump_json())
        return response.parsed  # type: ignore[return-value]

    async def text(self, prompt: str, *, max_output_tokens: int | None = None) -> TextAnswer:
        key = self._prompt_key(prompt, None)
        if (hit := await self._cached_text(key)) is not None:
            self._cached_record()
            return TextAnswer(hit, "stop", cached=True)
        response = await self.client.generate(
            LLMRequest(prompt=prompt, max_output_tokens=max_output_tokens)
        )
        return TextAnswer(response.text, response.finish, cached=False)

    async def remember(self, prompt: str, text: str) -> None:
        """Cache a translation only once it passed the checks."""
        await self.cache.set(self._key("text", prompt), text)


# Longer than one call may take (the client's timeout, 300 s by default): a call in flight
# is billed, so it is let finish and recorded rather than cancelled at an unknown cost.
STOP_GRACE_S = 330.0


async def all_or_stop(aws: Iterable[Awaitable[R]]) -> list[R]:
    """Like ``gather``, but when one fails (deferred, refused, failed) its siblings make
    no new call: calls already in flight are let finish within ``STOP_GRACE_S`` (they are
    billed, so their usage is recorded), whatever is still running then is cancelled,
    and the first failure is raised. Nothing of the command outlives it."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    if not tasks:
        return []
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception() is not None]
    if not failed:
        return [t.result() for t in tasks]
    first = next(
        (t.exception() for t in failed if not isinstance(t.exception(), CallsStopped)),
        failed[0].exception(),
    )
    assert first is not None
    collector = current_collector.get()
    if collector is not None:
        collector.stop(getattr(first, "reason", None) or type(first).__name__)
    pending = [t for t in tasks if not t.done()]
    if pending:
        _, late = await asyncio.wait(pending, timeout=STOP_GRACE_S)
        for task in late:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    raise first


async def longest_first(start: Callable[[int], Awaitable[R]], sizes: Sequence[int]) -> list[R]:
    """``all_or_stop`` of ``start(i)`` for every index, launched in order of expected
    answer length, longest first (answer time grows with answer length, and calls start a
    few milliseconds apart: a long answer started last would end the batch late); the
    results come back in index order."""
    order = sorted(range(len(sizes)), key=lambda i: sizes[i], reverse=True)
    answers = await all_or_stop(start(i) for i in order)
    results: list[R] = [None] * len(sizes)  # type: ignore[list-item]
    for index, answer in zip(order, answers, strict=True):
        results[index] = answer
    return results
