"""Through the worker's real planning path, a job's units are sized for the book and the
key's concurrency, and the estimate says how large they are and why."""

from __future__ import annotations

from pathlib import Path

from planning_harness import plan_book

from folio.contracts import JobPlanned
from folio_worker.engine.isolation import DocumentProcessor

PARAGRAPH = (
    "One morning, when Gregor Samsa woke from troubled dreams, he found himself transformed "
    "in his bed into a horrible vermin. He lay on his armour-like back and saw his belly. "
) * 4
BOOK = "\n\n".join([PARAGRAPH] * 180)  # about 120,000 characters


async def plan(tmp_path: Path, documents: DocumentProcessor, **settings) -> JobPlanned:  # type: ignore[no-untyped-def]
    command = {
        "job_id": 1,
        "segment_size": 15_000,
        "target_language": "ko",
        "model": "gpt-4o-mini",
        "mode": "turbo",  # turbo planning makes no call
    }
    (event,) = await plan_book(tmp_path, documents, BOOK, command=command, **settings)
    assert isinstance(event, JobPlanned)
    return event


async def test_units_follow_the_keys_concurrency_and_the_estimate_says_why(
    tmp_path: Path, documents: DocumentProcessor
) -> None:
    wide = await plan(tmp_path / "wide", documents, llm_max_concurrency_per_key=64)
    narrow = await plan(tmp_path / "narrow", documents, llm_max_concurrency_per_key=8)
    assert wide.estimate.plan is not None and narrow.estimate.plan is not None
    wide_units = sum(s.unit_count for s in wide.segments)
    narrow_units = sum(s.unit_count for s in narrow.segments)
    # A wide key: one wave of units, all at once.
    assert wide.estimate.plan.unit_reason == "one_wave"
    assert 40 <= wide_units <= 64
    # A narrow key: the book takes several waves whatever the size, so fewer, larger
    # units (fewer repetitions of the prompt prefix), up to the quality ceiling.
    assert narrow.estimate.plan.unit_reason == "quality_ceiling"
    assert narrow.estimate.plan.unit_size > wide.estimate.plan.unit_size
    assert narrow_units < wide_units
    assert wide.estimate.plan.prefix_tokens > 0
    # The estimate of the translation follows the calls the plan makes.
    assert narrow.estimate.translation.calls == narrow_units
    assert narrow.estimate.translation.input_tokens < wide.estimate.translation.input_tokens


async def test_the_operators_unit_size_overrides_the_plans(
    tmp_path: Path, documents: DocumentProcessor
) -> None:
    fixed = await plan(tmp_path, documents, unit_size=1_000)
    assert fixed.estimate.plan is not None
    assert (fixed.estimate.plan.unit_size, fixed.estimate.plan.unit_reason) == (1_000, "operator")
    assert sum(s.unit_count for s in fixed.segments) >= 120
