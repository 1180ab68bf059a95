"""Analysis without a job: a book (or its beginning) read by the engine, answered at once.

translation-service sends :class:`AnalyseBook` and waits for :class:`BookAnalysed` or
:class:`BookAnalysisFailed` (request/reply, :mod:`folio.messaging.rpc`). The book travels
as a stored blob (``upload_key``), the user's provider sealed (``credentials``; ``None``:
the deployment's provider), like a job's.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from folio.contracts.base import Reply, Request
from folio.contracts.engine import CallRecord, JobContext
from folio.contracts.spend import SpendLimits

WORKER_ANALYSIS_QUEUE = "worker-service.analysis"

# Why an analysis failed, so the API answers with the right status.
# "allowance": the caller's daily allowance on the deployment's own key is spent.
AnalysisFailure = Literal["unreadable", "provider", "busy", "internal", "allowance"]


class AnalyseBook(Request):
    TYPE: ClassVar[str] = "analysis.analyse_book.v1"
    QUEUE: ClassVar[str] = WORKER_ANALYSIS_QUEUE

    upload_key: str
    filename: str
    target_language: str
    source_language: str | None = None
    model: str
    credentials: str | None = None
    # How much of the book is read (its beginning), in characters.
    max_chars: int = Field(default=15_000, ge=1000, le=2_000_000)
    # Render the glossary's terms in the target language (the glossary and the
    # characters' names); the style alone does not need it.
    render_terms: bool = True
    owner_id: str | None = None  # who asked, when signed in (usage is theirs)
    # Whose earlier answers may be reused (the response cache), as a job's reuse_scope:
    # the caller and their provider, so no answer is served to anyone else.
    reuse_scope: str = Field(default="", max_length=64)
    # On the deployment's own key: the caller's daily allowance, checked before each call.
    spend: SpendLimits | None = None


class BookAnalysed(Reply):
    TYPE: ClassVar[str] = "analysis.book_analysed.v1"

    source_language: str | None = None
    context: JobContext
    characters_read: int = 0
    calls: list[CallRecord] = Field(default_factory=list)


class BookAnalysisFailed(Reply):
    TYPE: ClassVar[str] = "analysis.book_analysis_failed.v1"

    failure: AnalysisFailure
    reason: str = Field(max_length=2000)
    calls: list[CallRecord] = Field(default_factory=list)
