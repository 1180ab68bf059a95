"""Tables of the ``translation`` schema.

Following the SQLModel family pattern: ``JobBase`` holds the fields a client may see and
set, ``Job`` is the table. API shapes live in :mod:`folio_translation.schemas`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Integer,
    String,
    Text,
    func,
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

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    owner_id: str = Field(index=True, max_length=255)
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
    llm_calls: int = Field(default=0)
    phase: str = Field(default=JobPhase.PLANNING, max_length=20)
    status_detail: str | None = Field(default=None, sa_column=Column(Text))
    # Sealed provider configuration (keys); erased once the job no longer needs it.
    credentials: str | None = Field(default=None, sa_column=Column(Text))
    style_input: dict | None = jsonb()
    glossary_input: list | None = jsonb()
    glossary_mode: str = Field(default="seed", max_length=10)
    context: dict | None = jsonb()
    estimate: dict | None = jsonb()
    document: dict | None = jsonb()
    # The worker's stored plan (folio.contracts.plan.JobPlan) that segment commands cite.
    plan_key: str | None = Field(default=None, max_length=255)
    outputs: dict | None = jsonb()
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

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    job_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("jobs.id", ondelete="SET NULL"), index=True),
    )
    owner_id: str | None = Field(default=None, max_length=255, index=True)
    segment_index: int | None = Field(default=None)
    phase: str = Field(max_length=20)
    model: str = Field(max_length=200)
    key_id: str | None = Field(default=None, max_length=20)
    input_tokens: int = Field(default=0)
    output_tokens: int = Field(default=0)
    thinking_tokens: int = Field(default=0)
    latency_ms: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    outcome: str = Field(default="ok", sa_column=Column(String(30), nullable=False))
    cached: bool = Field(default=False)
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
