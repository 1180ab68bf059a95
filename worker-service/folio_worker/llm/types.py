"""The provider-neutral shapes of a model call.

The engine only ever sees these types, so switching a job from OpenAI to Gemini or Vertex
changes configuration, never engine code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

Finish = Literal["stop", "length"]

# What happened to one HTTP attempt; the same vocabulary for every provider so usage
# accounting and metrics do not depend on the provider.
Outcome = Literal[
    "ok",
    "length",
    "safety_prompt",
    "safety_candidate",
    "429",
    "5xx",
    "timeout",
    "invalid_json",
    "auth",
    "bad_request",
    "transport",
    "recitation",  # Gemini stopped an answer that recited its training data
    "cancelled",  # sent, then abandoned when its command ended (cost unknown)
    "lost",  # sent by a worker that died before the answer was seen (cost estimated)
    "other",  # the provider stopped for an unnamed reason (Gemini OTHER): worth a retry
]


@dataclass(frozen=True)
class LLMRequest:
    """One prompt; ``schema`` asks for a JSON answer validated into that model."""

    prompt: str
    system: str | None = None
    schema: type[BaseModel] | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None


@dataclass(frozen=True)
class CallUsage:
    """What one HTTP attempt cost and how it ended (reported for failures too)."""

    model: str
    key_id: str | None
    input_tokens: int
    output_tokens: int
    thinking_tokens: int
    latency_ms: float
    outcome: str
    # Part of input_tokens the provider read from its prompt cache (billed lower).
    cached_input_tokens: int = 0
    # Folio's id of the attempt, sent to the provider (X-Client-Request-Id).
    call_id: str | None = None
    # The provider's answer was not seen (abandoned): the tokens are the reservation.
    estimated: bool = False


@dataclass(frozen=True)
class LLMResponse:
    """A usable answer: ``parsed`` is set (an instance of the schema) for structured calls."""

    text: str
    parsed: BaseModel | None
    finish: Finish
    usage: CallUsage
