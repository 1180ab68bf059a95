"""Work-command consumers. The worker has no database: its handlers are idempotent by
construction (same command -> same result event id; cached model answers)."""

from __future__ import annotations

from folio.contracts import AssembleJob, PlanJob, TranslateSegment
from folio.messaging import Consumer, Delivery
from folio_worker.service import WorkerService


def register(plan: Consumer, segment: Consumer, assemble: Consumer, service: WorkerService) -> None:
    @plan.on(PlanJob)
    async def plan_job(command: PlanJob, delivery: Delivery) -> None:
        await service.plan_job(command, delivery)

    @segment.on(TranslateSegment)
    async def translate_segment(command: TranslateSegment, delivery: Delivery) -> None:
        await service.translate_segment(command, delivery)

    @assemble.on(AssembleJob)
    async def assemble_job(command: AssembleJob, delivery: Delivery) -> None:
        await service.assemble_job(command, delivery)
