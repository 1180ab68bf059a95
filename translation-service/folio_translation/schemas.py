"""What the API accepts and returns (kept apart from the tables on purpose)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from folio_translation.models import JobBase


class TokenUsagePublic(BaseModel):
    calls: int
    input_tokens: int
    output_tokens: int
    thinking_tokens: int


class JobPublic(JobBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    owner_id: str
    status: str
    phase: str
    progress: int
    error_message: str | None
    status_detail: str | None
    total_segments: int | None
    translated_segments: int
    created_at: datetime
    completed_at: datetime | None
    usage: TokenUsagePublic
    estimate: dict[str, Any] | None = None
    document: dict[str, Any] | None = None
    outputs: list[str] = Field(default_factory=list)
    glossary_mode: str = "seed"


class ResumeRequest(BaseModel):
    max_tokens: int | None = Field(default=None, ge=1)
