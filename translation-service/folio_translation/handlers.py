"""Consumers of the worker's result events. Each runs in one transaction with its inbox claim."""

from __future__ import annotations

from folio.contracts import (
    JobPlanned,
    JobPlanningFailed,
    SegmentTranslated,
    SegmentTranslationFailed,
)
from folio.messaging import Consumer, Delivery, Outbox
from folio_translation.service import JobService


def register(consumer: Consumer, outbox: Outbox) -> None:
    def service(delivery: Delivery) -> JobService:
        assert delivery.session is not None
        return JobService(delivery.session, outbox)  # type: ignore[arg-type]

    @consumer.on(JobPlanned)
    async def job_planned(event: JobPlanned, delivery: Delivery) -> None:
        await service(delivery).on_job_planned(event)

    @consumer.on(JobPlanningFailed)
    async def planning_failed(event: JobPlanningFailed, delivery: Delivery) -> None:
        await service(delivery).on_planning_failed(event)

    @consumer.on(SegmentTranslated)
    async def segment_translated(event: SegmentTranslated, delivery: Delivery) -> None:
        await service(delivery).on_segment_translated(event)

    @consumer.on(SegmentTranslationFailed)
    async def segment_failed(event: SegmentTranslationFailed, delivery: Delivery) -> None:
        await service(delivery).on_segment_failed(event)
