"""Stored plans: commands cite them; any replica reads them back from storage."""

from __future__ import annotations

from pathlib import Path

import pytest

from folio.contracts import (
    BlobContractError,
    GlossaryEntry,
    JobPlan,
    PlannedUnit,
    SegmentContext,
    SegmentPlan,
    TranslateSegment,
    UnitPiece,
)
from folio.storage import LocalStorage
from folio_worker.plans import PlanStore, PlanUnavailable


def entry(i: int) -> SegmentPlan:
    unit = PlannedUnit(index=i, text=f"Gregor {i}.", pieces=[UnitPiece(block=i, part=0, parts=1)])
    context = SegmentContext(glossary=[GlossaryEntry(term="Gregor", translation="그레고르")])
    return SegmentPlan(units=[unit], context=context)


def cites(plan_key: str, index: int, digest: str, job_id: int = 1) -> TranslateSegment:
    return TranslateSegment(
        job_id=job_id,
        segment_index=index,
        target_language="ko",
        model="m",
        plan_key=plan_key,
        digest=digest,
    )


async def test_another_replica_reads_the_cited_segment_from_storage(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    plan = JobPlan(job_id=1, segments={0: entry(0), 1: entry(1)})
    key = await PlanStore(storage).save(plan)

    elsewhere = PlanStore(storage)  # nothing in memory: reads the plan from storage
    assert await elsewhere.segment(cites(key, 1, entry(1).digest())) == entry(1)
    # A digest computed before storing matches the one recomputed after reading it back.
    stored = JobPlan.load(await storage.read_bytes(key))
    assert stored.contract == "translation.plan.v1"
    assert stored.segments[1].digest() == entry(1).digest()


async def test_a_command_that_does_not_match_its_plan_is_refused(tmp_path: Path) -> None:
    store = PlanStore(LocalStorage(tmp_path))
    key = await store.save(JobPlan(job_id=1, segments={0: entry(0)}))
    with pytest.raises(PlanUnavailable, match="does not match"):
        await store.segment(cites(key, 0, entry(5).digest()))  # other content
    with pytest.raises(PlanUnavailable, match="does not match"):
        await store.segment(cites(key, 3, entry(3).digest()))  # no such segment
    with pytest.raises(PlanUnavailable, match="does not match"):
        await store.segment(cites(key, 0, entry(0).digest(), job_id=2))  # another job's plan
    with pytest.raises(PlanUnavailable, match="no longer available"):
        await PlanStore(LocalStorage(tmp_path)).segment(cites("jobs/1/plan/gone.json", 0, "x"))


async def test_a_blob_of_another_contract_is_not_read_as_a_plan(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    blob = await storage.put_bytes(
        "jobs/1/plan", b'{"contract": "translation.plan.v0", "job_id": 1}', name="plan.json"
    )
    with pytest.raises(BlobContractError, match=r"translation\.plan\.v1"):
        JobPlan.load(await storage.read_bytes(blob.key))
    with pytest.raises(PlanUnavailable):
        await PlanStore(storage).load(blob.key)
