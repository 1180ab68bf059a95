"""Tables of the ``translation`` schema.

Following the SQLModel family pattern: ``JobBase`` holds the fields a client may see and
set, ``Job`` is the table. API shapes live in :mod:`folio_translation.schemas`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Identity, Integer, Text, func
from sqlmodel import Field

from folio.db import new_registry_base
from folio.db.messaging_tables import add_messaging_tables

Base = new_registry_base()
metadata = Base.metadata
MESSAGING = add_messaging_tables(metadata)


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class SegmentStatus(StrEnum):
    PENDING = "PENDING"
    TRANSLATED = "TRANSLATED"
    FAILED = "FAILED"


class JobBase(Base):
    filename: str = Field(max_length=255)
    segment_size: int = Field(default=15000)
    target_language: str = Field(default="ko", max_length=35)
    source_language: str | None = Field(default=None, max_length=35)


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
    chapter_index: int | None = Field(default=None)
    chapter_title: str | None = Field(default=None, sa_column=Column(Text))
    model: str | None = Field(default=None, max_length=200)
    error: str | None = Field(default=None, sa_column=Column(Text))
    translated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
