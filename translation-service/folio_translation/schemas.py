"""What the API accepts and returns (kept apart from the tables on purpose)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from folio_translation.models import Job, JobBase


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

    @classmethod
    def of(cls, job: Job | Mapping[str, Any]) -> Self:
        """From the table row (or the columns of ``JobRepository.public_view``)."""
        values = dict(job) if isinstance(job, Mapping) else job.model_dump()
        return cls.model_validate(
            {
                **values,
                "usage": TokenUsagePublic(
                    calls=values["llm_calls"],
                    input_tokens=values["input_tokens"],
                    output_tokens=values["output_tokens"],
                    thinking_tokens=values["thinking_tokens"],
                ),
                "outputs": sorted(values.get("outputs") or {}),
            }
        )


class ResumeRequest(BaseModel):
    max_tokens: int | None = Field(default=None, ge=1)
