"""A job's estimate counts the thinking tokens its model will spend (Gemini 2.5 budgets,
3.x levels), through the worker's real planning path."""

from __future__ import annotations

from pathlib import Path

import pytest
from planning_harness import plan_book

from folio.contracts import JobPlanned, JobPlanningPaused
from folio_worker.engine.isolation import DocumentProcessor

BOOK = (
    "One morning, when Gregor Samsa woke from troubled dreams, he found himself transformed "
    "in his bed into a horrible vermin.\n\n"
) * 20


async def translation_output(tmp_path: Path, documents: DocumentProcessor, model: str) -> int:
    command = {
        "job_id": 1,
        "segment_size": 2000,
        "target_language": "ko",
        "model": model,
        "mode": "turbo",  # turbo planning makes no call
    }
    (event,) = await plan_book(tmp_path, documents, BOOK, command=command, llm_provider="gemini")
    assert isinstance(event, JobPlanned)
    return event.estimate.translation.output_tokens


async def test_thinking_is_part_of_the_output_estimate(
    tmp_path: Path, documents: DocumentProcessor
) -> None:
    off = await translation_output(tmp_path / "a", documents, "gemini-2.5-flash")
    low = await translation_output(tmp_path / "b", documents, "gemini-3-flash-preview")
    pro = await translation_output(tmp_path / "c", documents, "gemini-2.5-pro")
    assert off > 0
    assert low == pytest.approx(off * 1.25, rel=0.05)  # thinkingLevel low: a quarter more
    assert pro > off  # 2.5 Pro always thinks (at least its 128-token budget per call)


async def test_an_analysis_the_cap_does_not_cover_pauses_naming_the_cap(
    tmp_path: Path, documents: DocumentProcessor
) -> None:
    command = {
        "job_id": 2,
        "segment_size": 2000,
        "target_language": "ko",
        "model": "gemini-2.5-flash",
        "max_tokens": 50,  # refused before any call
    }
    (event,) = await plan_book(tmp_path, documents, BOOK, command=command, llm_provider="gemini")
    assert isinstance(event, JobPlanningPaused)
    assert event.max_tokens == 50  # the cap it was refused under, as SegmentPaused says it
    assert "spending cap is 50" in event.reason
