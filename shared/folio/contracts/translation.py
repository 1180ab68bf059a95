"""Messages of the translation flow: translation-service <-> worker-service."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from folio.contracts.base import Command, Event
from folio.contracts.common import TokenUsage

WORKER_PLAN_QUEUE = "worker-service.plan"
WORKER_SEGMENT_QUEUE = "worker-service.segment"


class PlannedSegment(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=0)
    source_text: str
    chapter_index: int | None = None
    chapter_title: str | None = None


# ---- commands (translation-service -> worker-service) -------------------------------


class PlanJob(Command):
    """Parse the uploaded book, segment it and analyse it."""

    TYPE: ClassVar[str] = "translation.plan_job.v1"
    QUEUE: ClassVar[str] = WORKER_PLAN_QUEUE

    job_id: int
    upload_key: str
    filename: str
    segment_size: int
    target_language: str
    source_language: str | None = None


class TranslateSegment(Command):
    """Translate one segment of a planned job."""

    TYPE: ClassVar[str] = "translation.translate_segment.v1"
    QUEUE: ClassVar[str] = WORKER_SEGMENT_QUEUE

    job_id: int
    segment_index: int
    source_text: str
    target_language: str
    source_language: str | None = None


# ---- events (worker-service -> translation-service) ---------------------------------


class JobPlanned(Event):
    TYPE: ClassVar[str] = "translation.job.planned.v1"

    job_id: int
    source_language: str | None = None
    segments: list[PlannedSegment]


class JobPlanningFailed(Event):
    TYPE: ClassVar[str] = "translation.job.planning_failed.v1"

    job_id: int
    reason: str


class SegmentTranslated(Event):
    TYPE: ClassVar[str] = "translation.segment.translated.v1"

    job_id: int
    segment_index: int
    translated_text: str
    model: str
    usage: TokenUsage = TokenUsage()


class SegmentTranslationFailed(Event):
    TYPE: ClassVar[str] = "translation.segment.translation_failed.v1"

    job_id: int
    segment_index: int
    reason: str
