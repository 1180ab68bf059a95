"""A job's plan: what the worker translates each segment from.

The worker builds it while planning and stores it once as a blob (``JobPlanned.plan_key``
names it). It is the only home of the prompt material: each segment's units (their text
and the source blocks they cover) and its slice of the job context. translation-service
never stores it; its commands cite a segment by the plan's key and the segment's
``digest``, and any worker replica reads the plan back to translate or assemble.
"""

from __future__ import annotations

import hashlib
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from folio.contracts.blobs import BlobContract
from folio.contracts.engine import JobContext, PlannedUnit, SegmentContext


class SegmentPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    units: list[PlannedUnit]
    context: SegmentContext = SegmentContext()

    def digest(self) -> str:
        """Names the segment's units and context: everything its translation depends on
        besides the job's settings. Recomputed from the stored plan, it comes out the same."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


class JobPlan(BlobContract):
    CONTRACT: ClassVar[str] = "translation.plan.v1"

    job_id: int
    segments: dict[int, SegmentPlan] = Field(default_factory=dict)
    # The job-wide context (style, the book's glossary, its characters): the constant
    # first part of every translation prompt of the job. None in plans stored before.
    context: JobContext | None = None
    # Translations of the navigation labels no heading translates (EPUB), by source text.
    labels: dict[str, str] = Field(default_factory=dict)
