"""One client for every provider: retries, key rotation, pacing, structured output, accounting.

A book is thousands of calls on the user's own keys, so the client must survive throttling
and flaky servers without wasting quota (bounded attempts, jittered back-off, honouring
Retry-After), must stop at once when retrying cannot help (bad keys, bad requests, safety
blocks, which the engine handles by rephrasing), and must report every attempt's tokens so
usage accounting matches the provider's bill.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import httpx

from folio.contracts.providers import ProviderConfig
from folio_worker.llm.concurrency import key_semaphore
from folio_worker.llm.errors import (
    InvalidStructuredOutput,
    LLMAuthError,
    LLMBadRequest,
    LLMError,
    LLMExhausted,
    SafetyBlocked,
)
from folio_worker.llm.keys import Credential, KeyPool, full_jitter
from folio_worker.llm.providers import Answer, AttemptFailed, Tokens, make_provider
from folio_worker.llm.providers.schemas import SchemaError
from folio_worker.llm.ratelimit import RateLimiter
from folio_worker.llm.structured import parse_structured
from folio_worker.llm.types import CallUsage, LLMRequest, LLMResponse, Outcome

log = logging.getLogger(__name__)


class LLMClient:
    """Calls one configured model; safe to share between concurrent tasks of one job."""

    def __init__(
        self,
        config: ProviderConfig,
        http: httpx.AsyncClient,
        *,
        limiter: RateLimiter,
        max_attempts: int = 6,
        timeout_s: float = 300.0,
        max_concurrency_per_key: int = 32,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        on_call: Callable[[CallUsage], None] | None = None,
    ) -> None:
        self._config = config
        self._http = http
        self._limiter = limiter
        self._max_attempts = max(1, max_attempts)
        self._timeout_s = timeout_s
        self._max_concurrency = max(1, max_concurrency_per_key)
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s
        self._on_call = on_call
        self._provider = make_provider(config, http, timeout_s)
        self._pool = KeyPool(
            self._provider.credentials(),
            refused_reason=self._provider.refused_reason,
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
        """The answer to ``request``, or an ``LLMError`` subclass saying why there is none.

        Counted attempts are the retryable failures (429, 5xx, timeouts, connection errors,
        invalid JSON). A refused key (rotate to the next), a fallback switch or a token
        refresh (once each per call) are not counted: they are bounded by themselves.
        """
        failures = 0
        recovered: set[str] = set()
        while True:
            credential = await self._pool.acquire()
            result = await self._attempt(request, credential)
            if isinstance(result, LLMResponse):
                self._pool.succeeded(credential)
                return result
            failure = result
            if failure.recoverable and failure.outcome not in recovered:
                recovered.add(failure.outcome)
                log.info("llm %s: %s; retrying at once", self.model, failure.detail)
                continue
            if failure.outcome == "auth":
                self._pool.refuse(credential)
                log.warning(
                    "llm %s: key %s refused (%s); %d key(s) left",
                    self.model,
                    credential.id,
                    failure.detail,
                    self._pool.usable,
                )
                continue
            if failure.outcome == "bad_request":
                raise LLMBadRequest(f"{self._provider.label}: {failure.detail}")
            failures += 1
            if failure.outcome == "429":
                self._pool.throttled(credential, failure.retry_after_s)
            if failures >= self._max_attempts:
                raise self._final_error(request, failure, failures)
            delay = self._delay(failure, failures)
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

    def _delay(self, failure: AttemptFailed, failures: int) -> float:
        if failure.outcome in ("429", "invalid_json"):
            # 429: the key rests in the pool, another key may go at once. Invalid JSON: the
            # server is fine, ask again.
            return 0.0
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

    async def _attempt(
        self, request: LLMRequest, credential: Credential
    ) -> LLMResponse | AttemptFailed:
        """One HTTP call under the key's concurrency cap and pacing; reports it once."""
        async with key_semaphore(credential.id, self._max_concurrency):
            rpm = self._config.requests_per_minute
            if rpm:
                await self._limiter.acquire(credential.id, rpm)
            started = time.perf_counter()
            try:
                http_request = await self._provider.build(request, credential)
                started = time.perf_counter()
                http_request.extensions["timeout"] = httpx.Timeout(self._timeout_s).as_dict()
                async with asyncio.timeout(self._timeout_s):
                    response = await self._http.send(http_request)
                answer = self._provider.parse(request, response)
            except AttemptFailed as failure:
                return self._failed(credential, failure, started)
            except (TimeoutError, httpx.TimeoutException):
                failure = AttemptFailed("timeout", f"timeout after {self._timeout_s:g}s")
                return self._failed(credential, failure, started)
            except httpx.RequestError as exc:
                failure = AttemptFailed("transport", f"connection error ({type(exc).__name__})")
                return self._failed(credential, failure, started)
            except LLMAuthError:
                self._report(credential, "auth", Tokens(), started)
                raise
            except SchemaError as exc:
                raise LLMBadRequest(f"{self._provider.label}: {exc}") from exc
        return self._accept(request, credential, answer, started)

    def _failed(
        self, credential: Credential, failure: AttemptFailed, started: float
    ) -> AttemptFailed:
        self._report(credential, failure.outcome, failure.tokens, started)
        if failure.outcome == "safety_prompt":
            raise SafetyBlocked("prompt") from None
        if failure.outcome == "safety_candidate":
            raise SafetyBlocked("candidate") from None
        return failure

    def _accept(
        self, request: LLMRequest, credential: Credential, answer: Answer, started: float
    ) -> LLMResponse | AttemptFailed:
        if request.schema is None:
            outcome: Outcome = "ok" if answer.finish == "stop" else "length"
            usage = self._report(credential, outcome, answer.tokens, started)
            return LLMResponse(answer.text, None, answer.finish, usage)
        if answer.finish == "length":
            failure = AttemptFailed(
                "invalid_json", "the JSON answer was cut at the output token limit"
            )
        else:
            try:
                parsed, text = parse_structured(answer.text, request.schema)
            except ValueError:
                failure = AttemptFailed("invalid_json", "the answer did not validate")
            else:
                usage = self._report(credential, "ok", answer.tokens, started)
                return LLMResponse(text, parsed, "stop", usage)
        self._report(credential, "invalid_json", answer.tokens, started)
        return failure

    def _report(
        self, credential: Credential, outcome: Outcome, tokens: Tokens, started: float
    ) -> CallUsage:
        usage = CallUsage(
            model=self.model,
            key_id=credential.id,
            input_tokens=tokens.input,
            output_tokens=tokens.output,
            thinking_tokens=tokens.thinking,
            latency_ms=round((time.perf_counter() - started) * 1000.0, 3),
            outcome=outcome,
        )
        if self._on_call is not None:
            try:
                self._on_call(usage)
            except Exception as exc:  # accounting must never break a translation
                log.warning("llm on_call callback failed (%s)", type(exc).__name__)
        return usage
