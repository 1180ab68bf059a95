"""Consumers of the worker's result events. Each runs in one transaction with its inbox claim."""

from __future__ import annotations

from folio.contracts import (
    TASK_EVENTS,
    AnalysisCallsRecorded,
    CallsRecorded,
    JobAssembled,
    JobAssemblyFailed,
    JobPlanned,
    JobPlanningFailed,
    JobPlanningPaused,
    SegmentPaused,
    SegmentTranslated,
    SegmentTranslationFailed,
    TaskEvent,
)
from folio.messaging import Consumer, Delivery
from folio_translation.service import JobDeps, ResultService
from folio_translation.service.task_tracking import TaskTracker


def register(consumer: Consumer, deps: JobDeps) -> None:
    def service(delivery: Delivery) -> ResultService:
        assert delivery.session is not None
        return ResultService(delivery.session, deps)  # type: ignore[arg-type]

    async def run_succeeded(
        event: JobPlanned | SegmentTranslated | JobAssembled, delivery: Delivery
    ) -> None:
        """The result's task succeeded, in the result's transaction."""
        if event.task is not None:
            assert delivery.session is not None
            await TaskTracker(delivery.session).run_succeeded(  # type: ignore[arg-type]
                event.task,
                job_id=event.job_id,
                segment_index=getattr(event, "segment_index", None),
            )

    @consumer.on(JobPlanned)
    async def job_planned(event: JobPlanned, delivery: Delivery) -> None:
        await run_succeeded(event, delivery)
        await service(delivery).on_job_planned(event)

    @consumer.on(JobPlanningPaused)
    async def planning_paused(event: JobPlanningPaused, delivery: Delivery) -> None:
        await service(delivery).on_planning_paused(event)

    @consumer.on(JobPlanningFailed)
    async def planning_failed(event: JobPlanningFailed, delivery: Delivery) -> None:
        await service(delivery).on_planning_failed(event)

    @consumer.on(SegmentTranslated)
    async def segment_translated(event: SegmentTranslated, delivery: Delivery) -> None:
        await run_succeeded(event, delivery)
        await service(delivery).on_segment_translated(event)

    @consumer.on(SegmentTranslationFailed)
    async def segment_failed(event: SegmentTranslationFailed, delivery: Delivery) -> None:
        await service(delivery).on_segment_failed(event)

    @consumer.on(SegmentPaused)
    async def segment_paused(event: SegmentPaused, delivery: Delivery) -> None:
        await service(delivery).on_segment_paused(event)

    @consumer.on(CallsRecorded)
    async def calls_recorded(event: CallsRecorded, delivery: Delivery) -> None:
        await service(delivery).on_calls_recorded(event)

    @consumer.on(AnalysisCallsRecorded)
    async def analysis_calls_recorded(event: AnalysisCallsRecorded, delivery: Delivery) -> None:
        await service(delivery).on_analysis_calls_recorded(event)

    @consumer.on(JobAssembled)
    async def job_assembled(event: JobAssembled, delivery: Delivery) -> None:
        await run_succeeded(event, delivery)
        await service(delivery).on_job_assembled(event)

    @consumer.on(JobAssemblyFailed)
    async def assembly_failed(event: JobAssemblyFailed, delivery: Delivery) -> None:
        await service(delivery).on_assembly_failed(event)

    async def task_event(event: TaskEvent, delivery: Delivery) -> None:
        assert delivery.session is not None
        await TaskTracker(delivery.session).apply(event)  # type: ignore[arg-type]

    for contract in TASK_EVENTS:
        consumer.on(contract)(task_event)
