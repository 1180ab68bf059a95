"""Wire protocols of the supported providers, chosen by ``ProviderConfig.provider``."""

from __future__ import annotations

import httpx

from folio.contracts.providers import ProviderConfig
from folio_worker.llm.providers.anthropic import AnthropicProvider
from folio_worker.llm.providers.base import Answer, AttemptFailed, Provider, Tokens
from folio_worker.llm.providers.gemini import GeminiProvider, thinking_allowance
from folio_worker.llm.providers.openai import OpenAIProvider
from folio_worker.llm.providers.vertex import VertexProvider


def make_provider(config: ProviderConfig, http: httpx.AsyncClient, timeout_s: float) -> Provider:
    if config.provider in ("openai", "openrouter", "azure"):
        return OpenAIProvider(config)
    if config.provider == "gemini":
        return GeminiProvider(config)
    if config.provider == "anthropic":
        return AnthropicProvider(config)
    return VertexProvider(config, http, timeout_s)


def expected_thinking_tokens(config: ProviderConfig, output_tokens: int) -> int:
    """Thinking tokens to expect beside an answer of ``output_tokens``, for estimates: what
    the job's Gemini thinking settings allow; 0 where the provider thinks only when asked
    (Anthropic, and the OpenAI-compatible servers, whose hidden reasoning cannot be known
    in advance)."""
    if config.provider in ("gemini", "vertex"):
        return thinking_allowance(config, output_tokens)
    return 0


__all__ = [
    "Answer",
    "AttemptFailed",
    "Provider",
    "Tokens",
    "expected_thinking_tokens",
    "make_provider",
]
