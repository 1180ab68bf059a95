"""The provider-neutral shape of a model call."""

from __future__ import annotations

from dataclasses import dataclass

from folio.contracts import TokenUsage


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str
    model: str
    usage: TokenUsage


class LLMError(Exception):
    """A model call failed; retrying may help."""


class PermanentLLMError(LLMError):
    """A model call failed in a way retrying cannot fix (bad key, bad request)."""
