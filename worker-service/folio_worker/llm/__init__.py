"""Calls to LLM providers (OpenAI-compatible, Gemini, Vertex AI) behind one interface.

The engine builds an ``LLMClient`` per job from the job's ``ProviderConfig`` and only ever
deals with ``LLMRequest``/``LLMResponse`` and the exceptions below.
"""

from folio_worker.llm.client import LLMClient
from folio_worker.llm.errors import (
    InvalidStructuredOutput,
    LLMAuthError,
    LLMBadRequest,
    LLMError,
    LLMExhausted,
    SafetyBlocked,
)
from folio_worker.llm.ratelimit import (
    InProcessRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)
from folio_worker.llm.types import CallUsage, LLMRequest, LLMResponse

__all__ = [
    "CallUsage",
    "InProcessRateLimiter",
    "InvalidStructuredOutput",
    "LLMAuthError",
    "LLMBadRequest",
    "LLMClient",
    "LLMError",
    "LLMExhausted",
    "LLMRequest",
    "LLMResponse",
    "RateLimiter",
    "RedisRateLimiter",
    "SafetyBlocked",
]
