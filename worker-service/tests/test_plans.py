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


async def test_an_edited_glossary_replaces_the_plans_slice(tmp_path: Path) -> None:
    """After ``POST /jobs/{id}/glossary`` commands cite the edit: the segment is translated
    with the edited terms that occur in it, not with the slice planned before."""
    from folio.contracts import JobGlossary

    storage = LocalStorage(tmp_path)
    store = PlanStore(storage)
    key = await store.save(JobPlan(job_id=1, segments={0: entry(0)}))
    edited = JobGlossary(
        job_id=1,
        entries=[
            GlossaryEntry(term="Gregor", translation="그레고어", source="user"),
            GlossaryEntry(term="Grete", translation="그레테", source="user"),  # not in it
        ],
    )
    blob = await storage.put_bytes("jobs/1/glossary", edited.dump(), name="g1.json")
    command = cites(key, 0, entry(0).digest()).model_copy(
        update={"glossary_key": blob.key, "glossary_digest": edited.digest()}
    )
    segment = await PlanStore(storage).segment(command)
    assert [(g.term, g.translation) for g in segment.context.glossary] == [("Gregor", "그레고어")]
    assert segment.units == entry(0).units
    stale = command.model_copy(update={"glossary_digest": "0" * 64})
    with pytest.raises(PlanUnavailable, match="edited glossary"):
        await store.segment(stale)


async def test_planned_prompts_serve_only_the_work_they_were_planned_for(tmp_path: Path) -> None:
    """The replica that planned a job keeps the prompts its estimate was built from; a
    segment command sends them as they are only if its work is the planned one."""
    from folio.contracts import JobContext, JobGlossary, NarrativeStyle, PlanJob
    from folio_worker.engine.documents import parse_document
    from folio_worker.engine.segmentation import plan_segments
    from folio_worker.engine.translator import build_prompt, unit_requests
    from folio_worker.engine.work import SegmentWork
    from folio_worker.segment_plans import PlanIndexes, build_segment_plans

    text = "\n\n".join(
        f"Gregor waited in the rain, morning {n}, by the door." * 6 for n in range(6)
    )
    document = parse_document(text.encode(), "book.txt")
    segments = plan_segments(document.blocks, segment_size=1000, unit_size=500)
    context = JobContext(glossary=[GlossaryEntry(term="Gregor", translation="그레고르")])
    plan_job = PlanJob(
        job_id=1,
        target_language="ko",
        model="m",
        upload_key="k",
        filename="book.txt",
        segment_size=1000,
    )
    built = build_segment_plans(
        plan_job, document, segments, context, {}, "en", PlanIndexes(segments)
    )
    storage = LocalStorage(tmp_path)
    store = PlanStore(storage)
    key = await store.save(JobPlan(job_id=1, segments=built.plans, context=context), built.prompts)
    command = cites(key, 1, built.plans[1].digest()).model_copy(update={"source_language": "en"})

    async def work_of(store: PlanStore, command: TranslateSegment) -> SegmentWork:
        return SegmentWork.of(command, await store.segment(command), await store.book(command))

    work = await work_of(store, command)
    planned = store.prompts(command, work)
    assert len(planned) == len(built.plans[1].units) > 1
    assert planned == {
        r.unit.index: build_prompt(work, r, r.unit.text) for r in unit_requests(work)
    }
    # Another style, another replica, an edited glossary: the prompts are built anew.
    styled = command.model_copy(update={"style": NarrativeStyle(tone=["formal"])})
    assert store.prompts(styled, await work_of(store, styled)) == {}
    elsewhere = PlanStore(storage)
    assert elsewhere.prompts(command, await work_of(elsewhere, command)) == {}
    edited = JobGlossary(
        job_id=1, entries=[GlossaryEntry(term="Gregor", translation="그레고어", source="user")]
    )
    blob = await storage.put_bytes("jobs/1/glossary", edited.dump(), name="g.json")
    re_glossed = command.model_copy(
        update={"glossary_key": blob.key, "glossary_digest": edited.digest()}
    )
    assert store.prompts(re_glossed, await work_of(store, re_glossed)) == {}
