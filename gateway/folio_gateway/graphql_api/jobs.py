"""The caller's translation jobs (translation-service): status, usage, segments, tasks.

translation-service decides what a caller sees: the owner (or an admin) the whole job and
its tasks, another user nothing (not found), an anonymous caller the status of one job and
of its tasks only.
"""

from __future__ import annotations

from typing import Any

import strawberry

from folio_gateway.graphql_api.context import Info, Long, build
from folio_gateway.routes import TRANSLATION


@strawberry.type(description="Tokens a job's model calls used, as the providers reported.")
class JobUsage:
    calls: Long
    input_tokens: Long
    output_tokens: Long
    thinking_tokens: Long


@strawberry.type(description="One segment of a book: its source and translation.")
class Segment:
    segment_index: int
    source_text: str
    translated_text: str | None
    chapter_index: int | None
    chapter_title: str | None
    status: str


@strawberry.type(
    description=(
        "One unit of work of a job (planning, a segment, assembly...). Signed out, only "
        "its kind, state and progress: the rest is null."
    )
)
class Task:
    id: str
    kind: str
    name: str
    status: str
    celery_state: str | None
    segment_index: int | None
    progress: int | None
    created_at: str
    updated_at: str | None
    message: str | None = None
    attempts: int | None = None
    last_error: str | None = None
    duration: float | None = None
    queue_duration: float | None = None


@strawberry.type(description="A page of a job's segments.")
class SegmentPage:
    total: int
    offset: int
    limit: int
    has_more: bool
    message: str | None
    segments: list[Segment]

    @classmethod
    def of(cls, data: dict[str, Any]) -> SegmentPage:
        return build(cls, data, segments=[build(Segment, s) for s in data["segments"]])


@strawberry.type(
    description=(
        "A translation job. Signed out, a job shows its status only: the fields about the "
        "book (file name, languages, model, usage, segments) are null."
    )
)
class Job:
    id: Long
    status: str
    phase: str
    progress: int
    error_message: str | None
    status_detail: str | None
    total_segments: int | None
    translated_segments: int
    created_at: str
    completed_at: str | None
    validation_status: str | None
    post_edit_status: str | None
    illustrations_status: str | None
    filename: str | None
    target_language: str | None
    source_language: str | None
    mode: str | None
    model: str | None
    max_tokens: Long | None
    bilingual: bool | None
    owner_id: str | None
    outputs: list[str] | None
    usage: JobUsage | None
    # Segments with passages left untranslated (marked in every output), and how many.
    failed_segments: list[int] | None = None
    failed_units: int | None = None

    @classmethod
    def of(cls, data: dict[str, Any]) -> Job:
        usage = data.get("usage")
        return build(cls, data, usage=build(JobUsage, usage) if usage else None)

    @strawberry.field(description="A page of the job's segments (the owner's view only).")
    async def segments(self, info: Info, offset: int = 0, limit: int = 50) -> SegmentPage | None:
        if self.filename is None:  # the status-only view: nothing of the book
            return None
        return SegmentPage.of(await info.context.loaders.segments.load((self.id, offset, limit)))

    @strawberry.field(description="The job's tasks, oldest first.")
    async def tasks(self, info: Info) -> list[Task]:
        return [build(Task, task) for task in await info.context.loaders.tasks.load(self.id)]


async def jobs(info: Info, skip: int = 0, limit: int = 20) -> list[Job]:
    listed = await info.context.services.get_json(
        TRANSLATION, "/api/v1/jobs", {"skip": skip, "limit": limit}
    )
    return [Job.of(job) for job in listed]


async def job(info: Info, id: Long) -> Job | None:
    return Job.of(await info.context.loaders.jobs.load(id))
