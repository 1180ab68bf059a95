"""One client for every provider: retries, key rotation, pacing, structured output, accounting.

A book is thousands of calls on the user's own keys, so the client must survive throttling
and flaky servers without wasting quota (bounded attempts, jittered back-off, honouring
Retry-After), must stop at once when retrying cannot help (bad keys, bad requests, safety
blocks, which the engine handles by rephrasing), must not hold its command for long
(a wait beyond ``max_wait_s`` becomes ``LLMDeferred``: the command is re-queued with a
delay), and must report every attempt's tokens as the provider counted them, so usage
accounting matches the provider's bill.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
import uuid
from collections.abc import Callable

import httpx

from folio.contracts.providers import ProviderConfig
from folio_worker.llm.concurrency import ConcurrencyLimiter, LocalConcurrency, Pacing
from folio_worker.llm.errors import (
    InvalidStructuredOutput,
    LLMAuthError,
    LLMBadRequest,
    LLMDeferred,
    LLMError,
    LLMExhausted,
    LLMOutputTruncated,
    SafetyBlocked,
)
from folio_worker.llm.gate import CallGate, CallStart, OpenGate
from folio_worker.llm.keys import Credential, KeyPool, full_jitter
from folio_worker.llm.providers import Answer, AttemptFailed, Tokens, make_provider
from folio_worker.llm.providers.schemas import SchemaError
from folio_worker.llm.ratelimit import Pace, RateLimiter
from folio_worker.llm.reasoning import split_reasoning
from folio_worker.llm.structured import parse_structured
from folio_worker.llm.types import CallUsage, LLMRequest, LLMResponse, Outcome

log = logging.getLogger(__name__)

# A structured answer cut at the output limit is asked again with a larger limit, at most
# this often, up to this many tokens; beyond, only a smaller request can help.
MAX_GROWTH = 2
MAX_OUTPUT_LIMIT = 65536
# RECITATION is answered by asking again a little more freely, at most this often.
MAX_RECITATION_RETRIES = 2


class _Cooling:
    """The limiter said another replica's 429 rests this key: pick again (not a call)."""


class LLMClient:
    """Calls one configured model; safe to share between concurrent tasks of one job."""

    def __init__(
        self,
        config: ProviderConfig,
        http: httpx.AsyncClient,
        *,
        limiter: RateLimiter,
        slots: ConcurrencyLimiter | None = None,
        max_attempts: int = 6,
        timeout_s: float = 300.0,
        max_concurrency_per_key: int = 32,
        max_wait_s: float = 60.0,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        on_call: Callable[[CallUsage], None] | None = None,
        gate: CallGate | None = None,
    ) -> None:
        self._config = config
        self._http = http
        self._limiter = limiter
        self._slots = slots or LocalConcurrency()
        self._max_attempts = max(1, max_attempts)
        self._timeout_s = timeout_s
        own = config.max_concurrency or max_concurrency_per_key
        self._max_concurrency = max(1, min(max_concurrency_per_key, own))
        self._max_wait_s = max_wait_s
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s
        self._on_call = on_call
        self._gate = gate or OpenGate()
        self._pace = Pace(config.requests_per_minute, config.tokens_per_minute)
        self._provider = make_provider(config, http, timeout_s)
        self._pool = KeyPool(
            self._provider.credentials(),
            refused_reason=getattr(
                self._provider, "refused_reason", f"{self._provider.label} refused every key"
            ),
            backoff_base_s=backoff_base_s,
            backoff_cap_s=backoff_cap_s,
        )

    @property
    def model(self) -> str:
        return self._config.model

    @property
    def endpoint(self) -> str:
        """Who serves the model: the same model name at two providers may answer differently."""
        return f"{self._config.provider}:{self._config.base_url or ''}"

    def __repr__(self) -> str:  # never show keys
        return f"LLMClient({self._config!r})"

    async def generate(self, request: LLMRequest) -> LLMResponse:
        """The answer to ``request``, or an ``LLMError`` subclass saying why there is none
        (``LLMDeferred`` when the key cannot be used for longer than ``max_wait_s``).

        Counted attempts are the retryable failures (5xx, timeouts, connection errors,
        invalid JSON); 429s are counted apart and end in ``LLMDeferred``: throttling is
        not the model failing. A refused key (rotate to the next), a fallback switch or a
        token refresh (once each per call), a larger output limit (``MAX_GROWTH``) and a
        recitation retry (``MAX_RECITATION_RETRIES``) are bounded by themselves.
        """
        failures = throttled = grown = recitations = 0
        recovered: set[str] = set()
        while True:
            credential = await self._pool.acquire(self._max_wait_s)
            result = await self._attempt(request, credential)
            if isinstance(result, LLMResponse):
                self._pool.succeeded(credential)
                return result
            if isinstance(result, _Cooling):
                continue
            failure = result
            if failure.recoverable and failure.outcome not in recovered:
                recovered.add(failure.outcome)
                log.info("llm %s: %s; retrying at once", self.model, failure.detail)
                continue
            if failure.outcome == "auth":
                self._pool.refuse(credential, failure.detail)
                log.warning(
                    "llm %s: key %s refused (%s); %d key(s) left",
                    self.model,
                    credential.id,
                    failure.detail,
                    self._pool.usable,
                )
                continue
            if failure.outcome == "length":
                larger = self._larger_limit(request, failure.tokens)
                if grown >= MAX_GROWTH or larger is None:
                    raise LLMOutputTruncated(
                        "the structured answer does not fit the model's output limit "
                        f"(cut at {failure.tokens.output} tokens); ask for less at once"
                    )
                grown += 1
                log.info("llm %s: structured answer cut; asking for %d tokens", self.model, larger)
                request = dataclasses.replace(request, max_output_tokens=larger)
                continue
            if failure.outcome == "bad_request":
                if grown:  # the larger limit itself was refused: the model cannot give more
                    raise LLMOutputTruncated(
                        f"{self._provider.label}: the answer does not fit the model's output "
                        f"limit ({failure.detail})"
                    )
                raise LLMBadRequest(f"{self._provider.label}: {failure.detail}")
            if failure.outcome == "recitation":
                recitations += 1
                if recitations > MAX_RECITATION_RETRIES:
                    raise SafetyBlocked("candidate", failure.detail, kind="recitation")
                warmer = min(2.0, (request.temperature or 1.0) + 0.3)
                request = dataclasses.replace(request, temperature=warmer)
                continue
            if failure.outcome == "429":
                throttled += 1
                rest = self._pool.throttled(credential, failure.retry_after_s)
                await self._limiter.cool_down(credential.id, rest)
                if throttled >= self._max_attempts:
                    raise LLMDeferred(
                        max(rest, self._backoff_cap_s),
                        f"the provider kept rate limiting after {throttled} attempts",
                    )
                continue  # the key rests in the pool; another key may go at once
            failures += 1
            if failures >= self._max_attempts:
                raise self._final_error(request, failure, failures)
            delay = self._delay(failure, failures)
            if delay > self._max_wait_s:
                raise LLMDeferred(delay, f"the provider asked to wait {delay:.0f} s")
            log.warning(
                "llm %s: attempt %d/%d failed with key %s (%s); retrying in %.2fs",
                self.model,
                failures,
                self._max_attempts,
                credential.id,
                failure.detail,
                delay,
            )
            if delay > 0:
                await asyncio.sleep(delay)

    @staticmethod
    def _larger_limit(request: LLMRequest, cut: Tokens) -> int | None:
        """Twice the limit that cut the answer (or twice what came out without one)."""
        used = max(request.max_output_tokens or 0, cut.output + cut.thinking)
        larger = min(MAX_OUTPUT_LIMIT, max(1024, 2 * used))
        return larger if larger > (request.max_output_tokens or 0) else None

    def _delay(self, failure: AttemptFailed, failures: int) -> float:
        if failure.outcome == "invalid_json":
            return 0.0  # the server is fine: ask again
        delay = full_jitter(failures - 1, self._backoff_base_s, self._backoff_cap_s)
        return max(delay, failure.retry_after_s or 0.0)

    def _final_error(self, request: LLMRequest, failure: AttemptFailed, failures: int) -> LLMError:
        if failure.outcome == "invalid_json":
            name = request.schema.__name__ if request.schema is not None else "the schema"
            return InvalidStructuredOutput(
                f"the model never returned valid JSON for {name} after {failures} attempts "
                f"(last: {failure.detail})",
                attempts=failures,
            )
        return LLMExhausted(
            f"the model kept failing ({failure.detail}) after {failures} attempts",
            last_outcome=failure.outcome,
            attempts=failures,
        )

    @staticmethod
    def _estimate(request: LLMRequest) -> tuple[int, int]:
        """What a call may bill before it is answered: its prompt at 4 bytes a token, and
        its output limit (the prompt again without one). What it counts against a
        tokens-per-minute quota and reserves against the spending limits."""
        prompt = math.ceil(len(((request.system or "") + request.prompt).encode()) / 4)
        return prompt, request.max_output_tokens or prompt

    async def _attempt(
        self, request: LLMRequest, credential: Credential
    ) -> LLMResponse | AttemptFailed | _Cooling:
        """One HTTP call under the key's concurrency cap and pacing; reports it once."""
        prompt, output = self._estimate(request)
        cost = prompt + output
        pacing = Pacing(self._limiter, self._pace, cost, self._max_wait_s)
        async with self._slots.slot(credential.id, self._max_concurrency, pacing) as reserved:
            # Reserved with the slot when both live in the same Redis (one round trip).
            reservation = reserved or await self._limiter.reserve(
                credential.id, self._pace, cost, self._max_wait_s
            )
            if reservation.status == "cooling":
                self._pool.rest(credential, reservation.wait_s)
                return _Cooling()
            if reservation.status == "later":
                raise LLMDeferred(
                    reservation.wait_s,
                    f"the key's rate limit has no free slot for {reservation.wait_s:.0f} s",
                )
            if reservation.wait_s > 0:
                await asyncio.sleep(reservation.wait_s)
            # Checked here, right before sending: every attempt (retries, a larger limit,
            # an invalid-JSON loop) is admitted against the job's limits on its own.
            call_id = uuid.uuid4().hex
            ticket = await self._gate.admit(
                CallStart(call_id, self.model, credential.id, prompt, output)
            )
            used = 0
            limit = getattr(ticket, "output_limit", None)
            if limit is not None and request.max_output_tokens is None:
                # Under a cap, the output limit is what was reserved: one answer that
                # runs long cannot pass the cap (it comes back cut instead).
                request = dataclasses.replace(request, max_output_tokens=limit)
            try:
                started = time.perf_counter()
                try:
                    http_request = await self._provider.build(request, credential)
                    # Folio's id of the attempt (OpenAI documents this header; others
                    # ignore it): usage rows can be matched to the provider's own log.
                    http_request.headers["X-Client-Request-Id"] = call_id
                    started = time.perf_counter()
                    http_request.extensions["timeout"] = httpx.Timeout(self._timeout_s).as_dict()
                    async with asyncio.timeout(self._timeout_s):
                        response = await self._http.send(http_request)
                    answer = self._provider.parse(request, response)
                except AttemptFailed as failure:
                    used = _billed(failure.tokens)
                    await self._settle(credential, cost, failure.tokens)
                    return self._failed(call_id, credential, failure, started)
                except (TimeoutError, httpx.TimeoutException):
                    failure = AttemptFailed("timeout", f"timeout after {self._timeout_s:g}s")
                    return self._failed(call_id, credential, failure, started)
                except httpx.RequestError as exc:
                    failure = AttemptFailed("transport", f"connection error ({type(exc).__name__})")
                    return self._failed(call_id, credential, failure, started)
                except LLMAuthError:
                    self._report(call_id, credential, "auth", Tokens(), started)
                    raise
                except asyncio.CancelledError:
                    # Sent and abandoned (its command ended): the provider may well bill
                    # it, for all Folio knows at its reservation.
                    used = cost
                    self._report(
                        call_id,
                        credential,
                        "cancelled",
                        Tokens(input=prompt, output=output),
                        started,
                        estimated=True,
                    )
                    raise
                except SchemaError as exc:
                    raise LLMBadRequest(f"{self._provider.label}: {exc}") from exc
                await self._settle(credential, cost, answer.tokens)
                used = _billed(answer.tokens)
                return self._accept(call_id, request, credential, answer, started)
            finally:
                await self._gate.settle(ticket, used)

    async def _settle(self, credential: Credential, cost: int, tokens: Tokens) -> None:
        if self._pace.tokens_per_minute and (tokens.input or tokens.output):
            used = tokens.input + tokens.output + tokens.thinking
            await self._limiter.settle(credential.id, self._pace, used - cost)

    def _failed(
        self, call_id: str, credential: Credential, failure: AttemptFailed, started: float
    ) -> AttemptFailed:
        self._report(call_id, credential, failure.outcome, failure.tokens, started)
        if failure.outcome in ("safety_prompt", "safety_candidate"):
            level = "prompt" if failure.outcome == "safety_prompt" else "candidate"
            raise SafetyBlocked(
                level,
                None if failure.safety in (None, "safety") else failure.detail,
                kind=failure.safety or "safety",
                rephrasable=failure.rephrasable,
            ) from None
        return failure

    def _accept(
        self,
        call_id: str,
        request: LLMRequest,
        credential: Credential,
        answer: Answer,
        started: float,
    ) -> LLMResponse | AttemptFailed:
        text, reasoning = split_reasoning(answer.text)
        tokens = answer.tokens
        if reasoning and not tokens.thinking:
            # The reasoning came inside the answer: its tokens are thinking, not output.
            thought = min(tokens.output, math.ceil(len(reasoning.encode()) / 4))
            tokens = dataclasses.replace(tokens, output=tokens.output - thought, thinking=thought)
        if request.schema is None:
            outcome: Outcome = "ok" if answer.finish == "stop" else "length"
            usage = self._report(call_id, credential, outcome, tokens, started)
            return LLMResponse(text, None, answer.finish, usage)
        if answer.finish == "length":
            self._report(call_id, credential, "length", tokens, started)
            return AttemptFailed(
                "length", "the JSON answer was cut at the output token limit", tokens=tokens
            )
        try:
            parsed, json_text = parse_structured(text, request.schema)
        except ValueError:
            self._report(call_id, credential, "invalid_json", tokens, started)
            return AttemptFailed("invalid_json", "the answer did not validate", tokens=tokens)
        usage = self._report(call_id, credential, "ok", tokens, started)
        return LLMResponse(json_text, parsed, "stop", usage)

    def _report(
        self,
        call_id: str,
        credential: Credential,
        outcome: Outcome,
        tokens: Tokens,
        started: float,
        *,
        estimated: bool = False,
    ) -> CallUsage:
        usage = CallUsage(
            model=self.model,
            key_id=credential.id,
            input_tokens=tokens.input,
            output_tokens=tokens.output,
            thinking_tokens=tokens.thinking,
            cached_input_tokens=tokens.cached,
            latency_ms=round((time.perf_counter() - started) * 1000.0, 3),
            outcome=outcome,
            call_id=call_id,
            estimated=estimated,
        )
        if self._on_call is not None:
            try:
                self._on_call(usage)
            except Exception as exc:  # accounting must never break a translation
                log.warning("llm on_call callback failed (%s)", type(exc).__name__)
        return usage


def _billed(tokens: Tokens) -> int:
    """What an attempt counts against a spending cap: every token the provider billed."""
    return tokens.input + tokens.output + tokens.thinking
