"""Clients for LLM providers, behind one small interface."""

from folio_worker.llm.base import Completion, LLMError, PermanentLLMError
from folio_worker.llm.openai import OpenAICompatibleClient

__all__ = ["Completion", "LLMError", "OpenAICompatibleClient", "PermanentLLMError"]
