"""Protocol-independent request pipeline: auth verdicts, faults, generation, latency, stats.

Both wire protocols (OpenAI and Gemini/Vertex) translate their request into an ``LLMCall``
and render the resulting ``CallResult`` in their own shape; keeping the behaviour here means
a marker or setting acts identically whichever protocol a client speaks.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from folio_fakellm.behaviour import (
    KeyLimits,
    PrefixCache,
    is_reasoning_model,
    reasoning_text,
    reasoning_tokens,
)
from folio_fakellm.faults import ConfiguredFaults, FaultPlan, MarkerCounter, SourceFaults
from folio_fakellm.latency import delay_seconds, sleep_for
from folio_fakellm.layout import LAYOUT_FAULTS, LayoutFaults, disturb, translate_keeping_tags
from folio_fakellm.mistakes import (
    MistakeMaker,
    apply,
    glossary_in,
    occurring,
    translate_with_glossary,
)
from folio_fakellm.prompt import (
    candidate_terms,
    extract_embedded_schema,
    extract_source,
    extract_target_language,
    source_block,
)
from folio_fakellm.pseudo import language_kind, pseudo_translate
from folio_fakellm.schema_fill import FillContext, fill_schema
from folio_fakellm.settings import FakeLLMSettings
from folio_fakellm.stats import RequestRecord, Stats, key_hash
from folio_fakellm.tokens import estimate_tokens

logger = logging.getLogger("folio_fakellm")

Protocol = Literal["openai", "gemini", "anthropic"]
Finish = Literal["stop", "length", "safety"]


class ErrorKind(StrEnum):
    MISSING_KEY = "missing_key"
    INVALID_KEY = "invalid_key"
    DENIED_KEY = "denied_key"  # a valid key without permission (suspended, leaked, region)
    UNKNOWN_TOKEN = "unknown_token"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    UNAVAILABLE = "unavailable"
    BAD_REQUEST = "bad_request"
    UNSUPPORTED_FORMAT = "unsupported_format"


_STATUS: dict[Protocol, dict[ErrorKind, int]] = {
    "openai": {  # OpenAI answers a wrong key 401 invalid_api_key, not 403
        ErrorKind.MISSING_KEY: 401,
        ErrorKind.INVALID_KEY: 401,
        ErrorKind.DENIED_KEY: 403,
        ErrorKind.UNKNOWN_TOKEN: 401,
        ErrorKind.RATE_LIMITED: 429,
        ErrorKind.SERVER_ERROR: 500,
        ErrorKind.UNAVAILABLE: 503,
        ErrorKind.BAD_REQUEST: 400,
        ErrorKind.UNSUPPORTED_FORMAT: 400,
    },
    "anthropic": {
        ErrorKind.MISSING_KEY: 401,
        ErrorKind.INVALID_KEY: 401,
        ErrorKind.DENIED_KEY: 403,
        ErrorKind.UNKNOWN_TOKEN: 401,
        ErrorKind.RATE_LIMITED: 429,
        ErrorKind.SERVER_ERROR: 500,
        ErrorKind.UNAVAILABLE: 529,
        ErrorKind.BAD_REQUEST: 400,
        ErrorKind.UNSUPPORTED_FORMAT: 400,
    },
    "gemini": {  # Google: no key is 403 PERMISSION_DENIED, a wrong one 400 API_KEY_INVALID
        ErrorKind.MISSING_KEY: 403,
        ErrorKind.INVALID_KEY: 400,
        ErrorKind.DENIED_KEY: 403,
        ErrorKind.UNKNOWN_TOKEN: 401,
        ErrorKind.RATE_LIMITED: 429,
        ErrorKind.SERVER_ERROR: 500,
        ErrorKind.UNAVAILABLE: 503,
        ErrorKind.BAD_REQUEST: 400,
        ErrorKind.UNSUPPORTED_FORMAT: 400,
    },
}


def http_status(protocol: Protocol, kind: ErrorKind) -> int:
    return _STATUS[protocol][kind]


@dataclass
class CallError:
    """An error answer; ``retry_after`` (seconds) only for rate limiting."""

    kind: ErrorKind
    message: str
    retry_after: float | None = None


@dataclass
class LLMCall:
    """A generation request, normalised from either protocol."""

    protocol: Protocol
    endpoint: str
    model: str
    key: str | None
    prompt: str
    user_texts: list[str]
    structured: bool = False
    schema: dict[str, Any] | None = None
    schema_name: str | None = None
    max_output_tokens: int | None = None
    thinking: dict[str, Any] | None = None
    # A small local model under ``json_object`` without ``schema``: it does not follow a
    # schema written in the prompt (llama-cpp-python's flavour).
    ignore_prompt_schema: bool = False
    # The client's id for the call (OpenAI's documented ``X-Client-Request-Id``).
    client_request_id: str | None = None


@dataclass
class CallResult:
    """What the protocol layer must render."""

    outcome: str
    error: CallError | None = None
    status: int = 200
    prompt_blocked: bool = False
    text: str = ""
    finish: Finish = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    thought_tokens: int = 0
    flags: set[str] = field(default_factory=set)
    # A reasoning model's chain of thought (its tokens are in ``thought_tokens``) and the
    # prompt tokens the provider's prefix cache served.
    reasoning: str = ""
    cached_tokens: int = 0


def format_seconds(seconds: float) -> str:
    """``2.0`` → ``"2"``, ``0.5`` → ``"0.5"`` (for Retry-After and google.rpc durations)."""
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def _cut_to_tokens(text: str, max_tokens: int) -> str:
    """Longest prefix of ``text`` whose UTF-8 size fits ``max_tokens`` estimated tokens."""
    budget = max(0, max_tokens) * 4
    size = 0
    for i, ch in enumerate(text):
        size += len(ch.encode("utf-8"))
        if size > budget:
            return text[:i]
    return text


def _malformed(text: str) -> str:
    cut = text[: max(1, len(text) // 2)]
    try:
        json.loads(cut)
    except ValueError:
        return cut
    return cut + '{"'


class Engine:
    """Shared state of one server instance (settings, counters, issued Vertex tokens)."""

    def __init__(self, settings: FakeLLMSettings) -> None:
        self.settings = settings
        self.stats = Stats(settings.max_logged_requests)
        self.markers = MarkerCounter()
        self.configured = ConfiguredFaults(settings.faults, settings.seed)
        self.source_faults = SourceFaults()
        self._tokens: set[str] = set()
        self._token_lock = threading.Lock()
        self.prefixes = PrefixCache()
        self.limits = KeyLimits(settings.rpm_limit, settings.concurrency_limit)
        self.mistakes = MistakeMaker(settings.mistake_rate)
        self._last_mistake = threading.local()
        self.layout = LayoutFaults(settings.layout_fault_rate, settings.seed)

    def reset(self) -> None:
        """Clear stats, the request log, marker counters and re-seed configured faults."""
        self.stats.reset()
        self.markers.reset()
        self.source_faults.clear()
        self.configured.reset()
        self.prefixes.reset()
        self.limits.reset()
        self.mistakes.reset()
        self.layout.reset()

    # --- auth ----------------------------------------------------------------------------
    def check_key(self, key: str | None) -> CallError | None:
        if not key:
            return CallError(ErrorKind.MISSING_KEY, "API key missing")
        if key.startswith("invalid"):
            return CallError(ErrorKind.INVALID_KEY, "API key is not authorised for this service")
        if key.startswith("denied"):
            return CallError(ErrorKind.DENIED_KEY, "API key has no permission for this resource")
        if key.startswith("ratelimited"):
            return CallError(
                ErrorKind.RATE_LIMITED,
                "Rate limit exceeded for this API key",
                retry_after=self.settings.retry_after_s,
            )
        return None

    def issue_token(self) -> str:
        token = f"fake-vertex-{secrets.token_urlsafe(24)}"
        with self._token_lock:
            self._tokens.add(token)
        return token

    def check_token(self, token: str | None) -> CallError | None:
        with self._token_lock:
            known = token is not None and token in self._tokens
        if not token:
            return CallError(ErrorKind.UNKNOWN_TOKEN, "Request is missing an access token")
        if not known:
            return CallError(
                ErrorKind.UNKNOWN_TOKEN, "Request had invalid authentication credentials"
            )
        return None

    # --- generation ----------------------------------------------------------------------
    def answer_text(self, call: LLMCall, *, echo: bool = False) -> str:
        """The normal (fault-free) answer text for ``call``."""
        source = extract_source(call.user_texts, fallback=call.prompt)
        target = extract_target_language(call.prompt, self.settings.default_target_language)
        ratio = self.settings.length_ratio(language_kind(target))

        def translate(text: str) -> str:
            return pseudo_translate(text, target, ratio)

        if not call.structured:
            return source if echo else self._translation(call, source, translate)
        schema = call.schema
        if schema is None and not call.ignore_prompt_schema:
            schema = extract_embedded_schema(call.prompt)
        if schema is None:
            value: Any = {"result": translate(source)}
        else:
            ctx = FillContext(
                source=source,
                names=candidate_terms(source),
                target_language=target,
                translate=translate,
                seed=call.prompt,
            )
            value = fill_schema(schema, ctx)
        return json.dumps(value, ensure_ascii=False)

    def _translation(self, call: LLMCall, source: str, translate) -> str:  # type: ignore[no-untyped-def]
        """A translation as a model gives it: the prompt's glossary followed, now and then
        a mistake (``mistakes.py``); the mistake made is left in ``last_mistake``."""
        glossary = glossary_in(call.prompt, source)
        mistake = self.mistakes.draw(call.prompt, source_block("\n\n".join(call.user_texts)))
        dropped = None
        if mistake is not None and mistake.kind == "drop-term":
            found = occurring(glossary, source)
            dropped = found[int(mistake.choice * len(found))][0] if found else None
        # Paragraph ids and placeholder tags are kept as they are (the layout faults break
        # them on purpose, apart from this).
        text = translate_with_glossary(
            source, glossary, lambda part: translate_keeping_tags(part, translate), dropped
        )
        made = None
        if mistake is not None:
            changed = apply(mistake, text) if mistake.kind != "drop-term" else text
            if changed != text or dropped is not None:
                made = mistake.kind
            text = changed
        self._last_mistake.kind = made
        return text

    def last_mistake(self) -> str | None:
        return getattr(self._last_mistake, "kind", None)

    def _thoughts(self, call: LLMCall, completion_tokens: int) -> int:
        cfg = call.thinking
        if cfg is None:
            return 0
        budget = cfg.get("thinkingBudget", cfg.get("thinking_budget"))
        if budget == 0:
            return 0
        level = str(cfg.get("thinkingLevel", cfg.get("thinking_level", "medium"))).lower()
        factor = {"minimal": 0.1, "low": 0.25, "medium": 0.5, "high": 1.0}.get(level, 0.5)
        thoughts = max(1, math.ceil(completion_tokens * factor) + 8)
        if isinstance(budget, int) and budget > 0:
            thoughts = min(thoughts, budget)
        return thoughts

    async def run(self, call: LLMCall, pre_error: CallError | None = None) -> CallResult:
        """Apply auth verdict, faults, generation and latency; record stats and the log."""
        started = time.perf_counter()
        arrived = time.time()
        seq = self.stats.next_seq()
        with self.stats.track():
            try:
                result = await self._run(call, pre_error)
            except Exception as exc:  # a bug here must still give a protocol-shaped answer
                logger.exception("fake LLM failed to answer request %d", seq)
                result = self._error(
                    call, CallError(ErrorKind.SERVER_ERROR, f"fake-llm internal error: {exc!r}")
                )
                result.outcome = "crash"
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        self.stats.record(
            RequestRecord(
                seq=seq,
                at=arrived,
                endpoint=call.endpoint,
                model=call.model,
                key_hash=key_hash(call.key),
                prompt=call.prompt,
                structured=call.structured,
                schema_name=call.schema_name,
                outcome=result.outcome,
                output=result.text,
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                thought_tokens=result.thought_tokens,
                latency_ms=round(elapsed_ms, 3),
                client_request_id=call.client_request_id,
            )
        )
        return result

    def _error(self, call: LLMCall, error: CallError) -> CallResult:
        status = http_status(call.protocol, error.kind)
        return CallResult(outcome=str(status), error=error, status=status)

    async def _run(self, call: LLMCall, pre_error: CallError | None) -> CallResult:
        if pre_error is not None:
            return self._error(call, pre_error)
        retry = self.limits.admit(call.key)
        if retry is not None:
            return self._error(
                call,
                CallError(ErrorKind.RATE_LIMITED, "Rate limit reached for requests", retry),
            )
        try:
            return await self._generate(call)
        finally:
            self.limits.release(call.key)

    async def _generate(self, call: LLMCall) -> CallResult:
        settings = self.settings
        plan = FaultPlan.from_faults(
            self.markers.active_faults(call.prompt)
            + self.source_faults.matching(source_block("\n\n".join(call.user_texts)))
            + self.configured.draw()
        )
        await sleep_for(plan.slow_s)
        if plan.error is not None:
            await sleep_for(delay_seconds(settings, 0))
            kind = {
                "429": ErrorKind.RATE_LIMITED,
                "500": ErrorKind.SERVER_ERROR,
                "503": ErrorKind.UNAVAILABLE,
            }[plan.error.kind]
            message = {
                ErrorKind.RATE_LIMITED: "Resource has been exhausted (e.g. check quota).",
                ErrorKind.SERVER_ERROR: "An internal error has occurred.",
                ErrorKind.UNAVAILABLE: "The model is overloaded. Please try again later.",
            }[kind]
            retry = plan.error.retry_after
            if kind is ErrorKind.RATE_LIMITED and retry is None:
                retry = settings.retry_after_s
            return self._error(call, CallError(kind, message, retry_after=retry))

        prompt_tokens = estimate_tokens(call.prompt)
        if "block-prompt" in plan.flags:
            await sleep_for(delay_seconds(settings, 0))
            return CallResult(
                outcome="block-prompt",
                prompt_blocked=True,
                prompt_tokens=prompt_tokens,
                status=400 if call.protocol == "openai" else 200,
            )

        flags = plan.flags
        outcome = "ok"
        finish: Finish = "stop"
        echo = "echo" in flags and not call.structured
        self._last_mistake.kind = None
        text = self.answer_text(call, echo=echo)
        if echo:
            outcome = "echo"
        elif self.last_mistake():
            outcome = f"mistake:{self.last_mistake()}"
        if not echo and not call.structured:
            layout = [f for f in LAYOUT_FAULTS if f in flags]
            drawn = self.layout.draw(call.prompt, text)
            for fault in layout or ([drawn] if drawn else []):
                text, outcome = disturb(text, fault), fault
        if "malformed-json" in flags and call.structured:
            text, outcome = _malformed(text), "malformed-json"
        if "ramble" in flags and not call.structured:
            # A model that does not stop: ten times the answer, until the output limit.
            text, outcome = "\n\n".join([text] * 10), "ramble"
        if "truncate" in flags:
            text, outcome, finish = text[: len(text) // 2], "truncate", "length"
        if "empty" in flags:
            text, outcome, finish = "", "empty", "stop"
        if "block-candidate" in flags:
            text, outcome, finish = "", "block-candidate", "safety"
        if (
            call.max_output_tokens is not None
            and finish != "safety"
            and estimate_tokens(text) > call.max_output_tokens
        ):
            text, finish = _cut_to_tokens(text, call.max_output_tokens), "length"
            if outcome == "ok":
                outcome = "max-tokens"
        completion_tokens = estimate_tokens(text)
        thought = self._thoughts(call, completion_tokens)
        reasoning = ""
        if is_reasoning_model(call.model) and finish != "safety":
            source = extract_source(call.user_texts, fallback=call.prompt)
            target = extract_target_language(call.prompt, settings.default_target_language)
            reasoning = reasoning_text(source, target)
            thought = reasoning_tokens(reasoning)
        await sleep_for(delay_seconds(settings, len(text)))
        return CallResult(
            outcome=outcome,
            text=text,
            finish=finish,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            thought_tokens=thought,
            flags=set(flags),
            reasoning=reasoning,
            cached_tokens=self.prefixes.cached_tokens(call.key, call.prompt),
        )
