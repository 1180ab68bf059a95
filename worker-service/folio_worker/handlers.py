"""Work-command consumers. The worker has no database: its handlers are idempotent by
construction (same command -> same result event id), and the consumer's inbox dedups."""

from __future__ import annotations

from folio.contracts import PlanJob, TranslateSegment
from folio.messaging import Consumer, Delivery
from folio_worker.service import WorkerService


def register(plan: Consumer, segment: Consumer, service: WorkerService) -> None:
    @plan.on(PlanJob)
    async def plan_job(command: PlanJob, delivery: Delivery) -> None:
        await service.plan_job(command, delivery)

    @segment.on(TranslateSegment)
    async def translate_segment(command: TranslateSegment, delivery: Delivery) -> None:
        await service.translate_segment(command, delivery)
