"""Usage of the models, as translation-service records it for other services.

translation-service owns the usage records (one per provider call, ``translation_usage_logs``
semantics); it publishes each one through its outbox so user-service can build the
token-usage dashboard as a read model without reading another service's schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from folio.contracts.base import Event

# The upstream dashboard's two groups: "translation" covers analysis, translation,
# validation and post-edit calls; "illustration" covers image prompts and images.
UsageCategory = Literal["translation", "illustration"]


class UsageRecorded(Event):
    """One provider call (or one batch of calls) was billed to a user."""

    TYPE: ClassVar[str] = "translation.usage.recorded.v1"

    # Stable for the call(s) recorded: a consumer counts each usage_id once, even if the
    # event is delivered again or re-published.
    usage_id: str
    user_id: str
    job_id: int | None = None
    model: str
    category: UsageCategory = "translation"
    # Finer than the category: analysis, translation, validation, post_edit, illustration.
    phase: str = "translation"
    calls: int = Field(default=1, ge=0)
    input_tokens: int = Field(default=0, ge=0)
    # Includes any reasoning ("thinking") tokens, as providers bill them.
    output_tokens: int = Field(default=0, ge=0)
    thinking_tokens: int = Field(default=0, ge=0)
    cached_input_tokens: int = Field(default=0, ge=0)
    images: int = Field(default=0, ge=0)
    recorded_at: datetime


def usage_category(phase: str) -> UsageCategory:
    """The dashboard group of a call's phase."""
    return "illustration" if phase.startswith("illustration") else "translation"
