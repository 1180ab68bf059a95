"""What translation-service hands the worker to build a job's output files.

translation-service writes this snapshot of its stored translations to blob storage and
names it in ``AssembleJob.translations_key``. It carries only what translation-service owns
(each segment's text and translations, the job glossary); where each unit's translation
goes in the book comes from the job's plan (``plan_key``), which the worker owns.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from folio.contracts.blobs import BlobContract
from folio.contracts.engine import GlossaryEntry
from folio.contracts.translation import UnitFailure


class AssemblySegment(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=0)
    chapter_index: int | None = None
    chapter_title: str | None = None
    source_text: str
    translated_text: str | None = None
    # One per unit of the segment's plan, in order; empty while untranslated.
    unit_translations: list[str] = Field(default_factory=list)
    # Units kept in the source language, marked (see folio.contracts.outputs).
    unit_failures: list[UnitFailure] = Field(default_factory=list)


class AssemblySnapshot(BlobContract):
    CONTRACT: ClassVar[str] = "translation.assembly.v1"

    job_id: int
    plan_key: str
    glossary: list[GlossaryEntry] = Field(default_factory=list)
    segments: list[AssemblySegment] = Field(default_factory=list)
