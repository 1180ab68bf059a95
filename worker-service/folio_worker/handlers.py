"""Work-command consumers. The worker has no database: its handlers are idempotent by
construction (same command -> same result event id; cached model answers)."""

from __future__ import annotations

from folio.contracts import AssembleJob, PlanJob, TranslateSegment
from folio.messaging import Consumer, Delivery
from folio_worker.assembly import Assembler
from folio_worker.deps import WorkerDeps
from folio_worker.planning import Planner
from folio_worker.translating import SegmentWorker


def register(plan: Consumer, segment: Consumer, assemble: Consumer, deps: WorkerDeps) -> None:
    planner, segments, assembler = Planner(deps), SegmentWorker(deps), Assembler(deps)

    @plan.on(PlanJob)
    async def plan_job(command: PlanJob, delivery: Delivery) -> None:
        await planner.plan_job(command, delivery)

    @segment.on(TranslateSegment)
    async def translate_segment(command: TranslateSegment, delivery: Delivery) -> None:
        await segments.translate_segment(command, delivery)

    @assemble.on(AssembleJob)
    async def assemble_job(command: AssembleJob, delivery: Delivery) -> None:
        await assembler.assemble_job(command, delivery)
