"""Stored plans: commands cite them; any replica can complete a command from storage."""

from __future__ import annotations

from pathlib import Path

import pytest

from folio.contracts import GlossaryEntry, PlannedUnit, SegmentContext, TranslateSegment, UnitPiece
from folio.storage import LocalStorage
from folio_worker.plans import PlanEntry, PlanStore, PlanUnavailable, StoredPlan, digest


def entry(i: int) -> PlanEntry:
    unit = PlannedUnit(index=i, text=f"Gregor {i}.", pieces=[UnitPiece(block=i, part=0, parts=1)])
    context = SegmentContext(glossary=[GlossaryEntry(term="Gregor", translation="그레고르")])
    return PlanEntry(units=[unit], context=context)


def cites(plan_key: str, index: int, digest_: str) -> TranslateSegment:
    return TranslateSegment(
        job_id=1,
        segment_index=index,
        target_language="ko",
        model="m",
        plan_key=plan_key,
        digest=digest_,
    )


async def test_another_replica_completes_a_command_from_the_stored_plan(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    plan = StoredPlan(segments={0: entry(0), 1: entry(1)})
    key = await PlanStore(storage).save(1, plan)

    elsewhere = PlanStore(storage)  # nothing in memory: reads the plan from storage
    completed = await elsewhere.complete(cites(key, 1, digest(entry(1))))
    assert completed.units == entry(1).units and completed.context == entry(1).context
    # A digest computed before storing matches the one recomputed after reading it back.
    assert digest(StoredPlan.model_validate_json(plan.model_dump_json()).segments[1]) == digest(
        entry(1)
    )


async def test_a_command_that_does_not_match_its_plan_is_refused(tmp_path: Path) -> None:
    store = PlanStore(LocalStorage(tmp_path))
    key = await store.save(1, StoredPlan(segments={0: entry(0)}))
    with pytest.raises(PlanUnavailable):
        await store.complete(cites(key, 0, digest(entry(5))))  # other content
    with pytest.raises(PlanUnavailable):
        await store.complete(cites(key, 3, ""))  # no such segment
    with pytest.raises(PlanUnavailable):
        await PlanStore(LocalStorage(tmp_path)).complete(cites("jobs/1/plan/gone.json", 0, ""))


async def test_a_command_that_carries_its_units_is_left_alone(tmp_path: Path) -> None:
    command = TranslateSegment(
        job_id=1, segment_index=0, target_language="ko", model="m", units=entry(0).units
    )
    assert await PlanStore(LocalStorage(tmp_path)).complete(command) is command
