"""Calls to LLM providers (OpenAI-compatible, Gemini, Vertex AI) behind one interface.

The engine builds an ``LLMClient`` per job from the job's ``ProviderConfig`` and only ever
deals with ``LLMRequest``/``LLMResponse`` and the exceptions below.
"""

from folio_worker.llm.client import LLMClient
from folio_worker.llm.concurrency import ConcurrencyLimiter, LocalConcurrency, RedisConcurrency
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
from folio_worker.llm.ratelimit import (
    InProcessRateLimiter,
    Pace,
    RateLimiter,
    RedisRateLimiter,
)
from folio_worker.llm.types import CallUsage, LLMRequest, LLMResponse

__all__ = [
    "CallUsage",
    "ConcurrencyLimiter",
    "InProcessRateLimiter",
    "InvalidStructuredOutput",
    "LLMAuthError",
    "LLMBadRequest",
    "LLMClient",
    "LLMDeferred",
    "LLMError",
    "LLMExhausted",
    "LLMOutputTruncated",
    "LLMRequest",
    "LLMResponse",
    "LocalConcurrency",
    "Pace",
    "RateLimiter",
    "RedisConcurrency",
    "RedisRateLimiter",
    "SafetyBlocked",
]
