"""Work-command consumers. The worker has no database: its handlers are idempotent by
construction (same command -> same result event id; cached model answers). Every run of
a command is reported for task monitoring (:mod:`folio_worker.tasks`)."""

from __future__ import annotations

from folio.contracts import AnalyseBook, AssembleJob, JobCancelled, PlanJob, TranslateSegment
from folio.messaging import Consumer, Delivery
from folio_worker.analysing import BookAnalyst
from folio_worker.assembly import Assembler
from folio_worker.deps import WorkerDeps
from folio_worker.planning import Planner
from folio_worker.tasks import TaskReports
from folio_worker.translating import SegmentWorker


def register(
    plan: Consumer,
    segment: Consumer,
    assemble: Consumer,
    deps: WorkerDeps,
    control: Consumer | None = None,
    analysis: Consumer | None = None,
) -> None:
    planner, segments, assembler = Planner(deps), SegmentWorker(deps), Assembler(deps)
    tasks = TaskReports(
        deps.publisher,
        deps.control,
        progress_interval_s=deps.settings.task_progress_interval_s,
        started_delay_s=deps.settings.task_started_delay_s,
    )

    if analysis is not None:
        analyst = BookAnalyst(deps)

        @analysis.on(AnalyseBook)
        async def analyse_book(request: AnalyseBook, delivery: Delivery) -> None:
            await analyst.analyse(request, delivery)

    if control is not None:

        @control.on(JobCancelled)
        async def job_cancelled(event: JobCancelled, delivery: Delivery) -> None:
            await deps.control.cancel(event.job_id)

    @plan.on(PlanJob)
    async def plan_job(command: PlanJob, delivery: Delivery) -> None:
        await tasks.run(command, delivery, lambda: planner.plan_job(command, delivery))

    @segment.on(TranslateSegment)
    async def translate_segment(command: TranslateSegment, delivery: Delivery) -> None:
        await tasks.run(command, delivery, lambda: segments.translate_segment(command, delivery))

    @assemble.on(AssembleJob)
    async def assemble_job(command: AssembleJob, delivery: Delivery) -> None:
        await tasks.run(command, delivery, lambda: assembler.assemble_job(command, delivery))
