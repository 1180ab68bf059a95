"""Wire protocols of the supported providers, chosen by ``ProviderConfig.provider``."""

from __future__ import annotations

import httpx

from folio.contracts.providers import ProviderConfig
from folio_worker.llm.providers.anthropic import AnthropicProvider
from folio_worker.llm.providers.base import Answer, AttemptFailed, Provider, Tokens
from folio_worker.llm.providers.gemini import GeminiProvider
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


__all__ = ["Answer", "AttemptFailed", "Provider", "Tokens", "make_provider"]
