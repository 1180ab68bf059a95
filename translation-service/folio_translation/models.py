"""Tables of the ``translation`` schema.

Following the SQLModel family pattern: ``JobBase`` holds the fields a client may see and
set, ``Job`` is the table. API shapes live in :mod:`folio_translation.schemas`.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    FetchedValue,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from folio.db import new_registry_base
from folio.db.messaging_tables import add_messaging_tables

Base = new_registry_base()
metadata = Base.metadata
MESSAGING = add_messaging_tables(metadata)


def utcnow() -> datetime:
    return datetime.now(UTC)


# A job's state is the pair (status, phase); folio_translation.lifecycle says which pairs
# exist and how a job moves between them.
class JobStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    PAUSED = "PAUSED"  # the spending cap stopped it; resume with a higher cap
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"  # its owner stopped it; nothing more is spent on it
    # The upstream's states while a finished translation is checked and corrected; served
    # by the validation and post-edit issue (no transition reaches them yet).
    VALIDATING = "VALIDATING"
    POST_EDITING = "POST_EDITING"


class JobPhase(StrEnum):
    PLANNING = "planning"
    TRANSLATING = "translating"
    ASSEMBLING = "assembling"
    DONE = "done"


class SegmentStatus(StrEnum):
    PENDING = "PENDING"
    DISPATCHED = "DISPATCHED"
    TRANSLATED = "TRANSLATED"
    FAILED = "FAILED"


# Job ids are random, so one job's id says nothing about another's (no enumeration), and
# stay below 2**53 so that JavaScript clients read them exactly.
JOB_ID_MIN, JOB_ID_MAX = 2**40, 2**53 - 1


def new_job_id() -> int:
    return JOB_ID_MIN + secrets.randbelow(JOB_ID_MAX - JOB_ID_MIN)


def jsonb(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(JSONB, nullable=nullable))


class JobBase(Base):
    filename: str = Field(max_length=255)
    segment_size: int = Field(default=15000)
    target_language: str = Field(default="ko", max_length=35)
    source_language: str | None = Field(default=None, max_length=35)
    mode: str = Field(default="default", max_length=10)
    model: str = Field(default="", max_length=200)
    max_tokens: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    bilingual: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )


class Job(JobBase, table=True):
    __tablename__ = "jobs"
    __mapper_args__ = {"eager_defaults": True}
    __table_args__ = (
        # A retried upload with the same Idempotency-Key finds the job it made.
        Index(
            "ix_jobs_owner_idempotency",
            "owner_id",
            "idempotency_key",
            unique=True,
            postgresql_where="idempotency_key IS NOT NULL",
        ),
    )

    id: int | None = Field(
        default_factory=new_job_id,
        sa_column=Column(BigInteger, primary_key=True, autoincrement=False),
    )
    owner_id: str = Field(index=True, max_length=255)
    idempotency_key: str | None = Field(default=None, max_length=255)
    # What the upload's form said (a digest), so a reused key with other options is refused.
    request_digest: str | None = Field(default=None, max_length=64)
    status: str = Field(default=JobStatus.PENDING, max_length=20, index=True)
    progress: int = Field(default=0)
    error_message: str | None = Field(default=None, sa_column=Column(Text))
    upload_key: str = Field(max_length=255)
    upload_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    upload_sha256: str = Field(max_length=64)
    total_segments: int | None = Field(default=None)
    translated_segments: int = Field(default=0)
    input_tokens: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )
    output_tokens: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )
    thinking_tokens: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )
    # Part of input_tokens the provider served from its prompt cache.
    cached_input_tokens: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )
    # Part of the tokens above counted at a reservation: calls whose answer was never seen.
    estimated_tokens: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )
    llm_calls: int = Field(default=0)
    phase: str = Field(default=JobPhase.PLANNING, max_length=20)
    status_detail: str | None = Field(default=None, sa_column=Column(Text))
    # Sealed provider configuration (keys); erased once the job no longer needs it.
    credentials: str | None = Field(default=None, sa_column=Column(Text))
    # Whether the job runs on the user's own provider (then resuming or re-translating it
    # after its keys were erased needs them again).
    own_provider: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    # Whose finished work the job may reuse (service.tenancy): one owner and provider.
    reuse_scope: str | None = Field(default=None, max_length=64)
    style_input: dict | None = jsonb()
    glossary_input: list | None = jsonb()
    glossary_mode: str = Field(default="seed", max_length=10)
    # The job-wide context (style, glossary, characters). A glossary edited after planning
    # is also stored as a blob (folio.contracts.glossary.JobGlossary) that later segment
    # commands cite, so a re-translation uses it instead of the plan's slices.
    context: dict | None = jsonb()
    glossary_key: str | None = Field(default=None, max_length=255)
    glossary_digest: str | None = Field(default=None, max_length=64)
    # The model of the analysis pass, when the user named one; the job's model otherwise.
    analysis_model: str | None = Field(default=None, max_length=200)
    # Chained phases the upload asked for (served by the validation and post-edit issue).
    validation_enabled: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    quick_validation: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    validation_sample_rate: int = Field(
        default=100, sa_column=Column(Integer, nullable=False, server_default="100")
    )
    post_edit_enabled: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    # The number of the job's last entry in ``job_events`` (bumped under the job row lock,
    # so entries are numbered in commit order).
    # The status trigger bumps it too: the ORM re-reads it after every update.
    event_seq: int = Field(
        default=0,
        sa_column=Column(
            BigInteger, nullable=False, server_default="0", server_onupdate=FetchedValue()
        ),
    )
    estimate: dict | None = jsonb()
    document: dict | None = jsonb()
    # The worker's stored plan (folio.contracts.plan.JobPlan) that segment commands cite.
    plan_key: str | None = Field(default=None, max_length=255)
    outputs: dict | None = jsonb()
    # How the output files are written: {"colophon": bool, "vertical": bool}; None: defaults.
    output_options: dict | None = jsonb()
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(
            DateTime(timezone=True), nullable=False, server_default=func.now(), index=True
        ),
    )
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    completed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class Segment(Base, table=True):
    __tablename__ = "segments"

    job_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    )
    index: int = Field(sa_column=Column(Integer, primary_key=True))
    source_text: str = Field(sa_column=Column(Text, nullable=False))
    translated_text: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(default=SegmentStatus.PENDING, max_length=20)
    # Its units and context are in the worker's stored plan (Job.plan_key), cited by digest.
    unit_count: int = Field(
        default=1, sa_column=Column(Integer, nullable=False, server_default="1")
    )
    unit_translations: list | None = jsonb()
    estimated_tokens: int = Field(default=0)
    digest: str | None = Field(default=None, max_length=64)  # SegmentPlan.digest()
    fingerprint: str | None = Field(default=None, max_length=64)
    cached: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    chapter_index: int | None = Field(default=None)
    chapter_title: str | None = Field(default=None, sa_column=Column(Text))
    model: str | None = Field(default=None, max_length=200)
    error: str | None = Field(default=None, sa_column=Column(Text))
    # Units kept untranslated and marked (folio.contracts.UnitFailure, as JSON); None when
    # every unit was translated.
    failures: list | None = jsonb()
    # What the translation still lacks after the engine's retries (a glossary rendering).
    warnings: list | None = jsonb()
    translated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class TranslationMemory(Base, table=True):
    """Finished translation work by fingerprint (inputs, context, model, engine version):
    the same work is never paid for twice, in this job or any later one."""

    __tablename__ = "translation_memory"

    fingerprint: str = Field(primary_key=True, max_length=64)
    model: str = Field(max_length=200)
    unit_translations: list = Field(sa_column=Column(JSONB, nullable=False))
    hits: int = Field(default=0)
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class UsageRecord(Base, table=True):
    """One model call: what it cost, for whom, in which phase."""

    __tablename__ = "usage_records"
    __table_args__ = (
        Index("ux_usage_records_call_id", "call_id", unique=True),
        Index(
            "ix_usage_records_allowance_day",
            "owner_id",
            "created_at",
            postgresql_where=text("allowance"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    job_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("jobs.id", ondelete="SET NULL"), index=True),
    )
    owner_id: str | None = Field(default=None, max_length=255, index=True)
    segment_index: int | None = Field(default=None)
    phase: str = Field(max_length=20)
    # The upstream's usage_category: "translation" (analysis, translation, validation,
    # post-edit) or "illustration".
    category: str = Field(
        default="translation",
        sa_column=Column(String(20), nullable=False, server_default="translation", index=True),
    )
    model: str = Field(max_length=200)
    key_id: str | None = Field(default=None, max_length=20)
    input_tokens: int = Field(default=0)
    output_tokens: int = Field(default=0)
    thinking_tokens: int = Field(default=0)
    # Part of input_tokens the provider served from its prompt cache (billed lower).
    cached_input_tokens: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    # The worker's id of the call: a call reported twice is stored once.
    call_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    latency_ms: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    outcome: str = Field(default="ok", sa_column=Column(String(30), nullable=False))
    cached: bool = Field(default=False)
    # The answer was never seen (outcome "lost"): the tokens are the call's reservation.
    estimated: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    # On the deployment's own key: counted against the owner's daily allowance.
    allowance: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class JobEvent(Base, table=True):
    """What a live follower of a job is sent: status changes and segment completions,
    numbered per job without gaps (the ``id:`` of the server-sent event)."""

    __tablename__ = "job_events"

    job_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    )
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    data: dict = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class TaskStatus(StrEnum):
    """The upstream's TaskStatus values (what the API shows)."""

    PENDING = "pending"  # queued, not started yet
    STARTED = "started"
    RUNNING = "running"  # started and reporting progress
    RETRY = "retry"  # a run ended early; the command comes back
    SUCCESS = "success"
    FAILURE = "failure"
    REVOKED = "revoked"  # cancelled


TASK_FINISHED = frozenset({TaskStatus.SUCCESS, TaskStatus.FAILURE, TaskStatus.REVOKED})


class TaskExecution(Base, table=True):
    """One work command sent to the worker, and what became of it (task monitoring).

    The id is the command's message id. The row is written when the command is queued
    (in the same transaction) and then follows the worker's task events."""

    __tablename__ = "task_executions"
    __table_args__ = (
        Index("ix_task_executions_status_kind", "status", "kind"),
        Index("ix_task_executions_job_created", "job_id", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(default="translation", max_length=30, index=True)
    name: str = Field(max_length=100)
    status: str = Field(default=TaskStatus.PENDING, max_length=20, index=True)
    job_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=True),
    )
    owner_id: str | None = Field(default=None, max_length=255, index=True)
    segment_index: int | None = Field(default=None)
    progress: int | None = Field(default=None)
    message: str | None = Field(default=None, sa_column=Column(Text))
    attempts: int = Field(default=0)
    max_retries: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    next_retry_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    queue_time: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    start_time: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    end_time: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    # Seconds: the runs' working time in all, and the wait before the first run.
    duration: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    queue_duration: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    # TaskEvent.order() of the latest event applied: an older one never moves it back.
    event_order: int = Field(
        default=-1, sa_column=Column(BigInteger, nullable=False, server_default="-1")
    )
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(
            DateTime(timezone=True), nullable=False, server_default=func.now(), index=True
        ),
    )
    updated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
