"""Through the worker's real planning path (the analysis answered by the fake model), the
glossary is rendered in batches the plan sizes once the terms are known: a free key gets
more, smaller batches at once, a narrow one fewer, larger ones; the estimate says which."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
from planning_harness import plan_book

from folio.contracts import JobPlanned
from folio_worker.engine.batching import MIN_TERMS_PER_BATCH
from folio_worker.engine.isolation import DocumentProcessor

NAMES = [f"Zor{chr(97 + i // 26)}{chr(97 + i % 26)}ek" for i in range(40)]


async def planned(
    tmp_path: Path, documents: DocumentProcessor, fake: str, concurrency: int
) -> tuple[JobPlanned, list[list[str]]]:
    """The planner's event and the term lists of its rendering calls."""
    tag = uuid.uuid4().hex[:8]
    book = "\n\n".join(
        f"{name} walked to the station ({tag}) and {name} waited by the clock." for name in NAMES
    )
    command = {
        "job_id": 1,
        "segment_size": 15_000,
        "target_language": "ko",
        "model": "gpt-4o-mini",
        "mode": "default",
    }
    (event,) = await plan_book(
        tmp_path,
        documents,
        book,
        command=command,
        llm_base_url=fake + "/v1",
        llm_max_concurrency_per_key=concurrency,
    )
    assert isinstance(event, JobPlanned), event
    async with httpx.AsyncClient() as http:
        rows = (await http.get(fake + "/_fake/requests")).json()
    prompts = [r["prompt"] for r in rows if "rendering every term below" in r["prompt"]]
    batches = [re.findall(r"^- (.+?) \(", p, re.M) for p in prompts if tag in p]
    return event, batches


async def test_the_estimate_shows_the_rendering_batches_the_plan_used(
    tmp_path: Path, documents: DocumentProcessor, fake: str
) -> None:
    wide, wide_batches = await planned(tmp_path / "wide", documents, fake, concurrency=64)
    narrow, narrow_batches = await planned(tmp_path / "narrow", documents, fake, concurrency=2)
    assert wide.estimate.plan is not None and narrow.estimate.plan is not None
    assert wide.estimate.plan.bound == narrow.estimate.plan.bound == "latency"
    terms = sorted(t for b in wide_batches for t in b)
    assert len(terms) >= 30 and terms == sorted(t for b in narrow_batches for t in b)
    # A free key: batches of the floor, all at once.
    assert wide.estimate.plan.terms_per_batch == MIN_TERMS_PER_BATCH
    assert max(map(len, wide_batches)) == MIN_TERMS_PER_BATCH
    assert len(wide_batches) == -(-len(terms) // MIN_TERMS_PER_BATCH)
    # Two calls at a time: two larger batches, as the estimate says.
    assert len(narrow_batches) == 2
    assert narrow.estimate.plan.terms_per_batch == max(map(len, narrow_batches))
    assert narrow.estimate.plan.terms_per_batch > wide.estimate.plan.terms_per_batch
    # The analysis' spending counts every rendering call (the book is one chunk in both).
    spent = wide.estimate.analysis.calls - narrow.estimate.analysis.calls
    assert spent == len(wide_batches) - len(narrow_batches)
