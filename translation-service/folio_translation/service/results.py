"""The worker's result events: what each does to its job.

Each handler runs in the transaction of its inbox claim, so a redelivered event changes
nothing; an event the job's state no longer expects (a late or repeated result) is ignored.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import (
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
)
from folio_translation import lifecycle
from folio_translation.lifecycle import JobState, Trigger
from folio_translation.models import Job
from folio_translation.repository import JobRepository, SegmentRepository
from folio_translation.repository.results import ResultRepository
from folio_translation.service.deps import JobDeps
from folio_translation.service.dispatch import Dispatcher
from folio_translation.service.usage import UsageLedger

log = logging.getLogger(__name__)


class ResultService:
    def __init__(self, session: AsyncSession, deps: JobDeps) -> None:
        self.session = session
        self.deps = deps
        self.jobs = JobRepository(session)
        self.segments = SegmentRepository(session)
        self.results = ResultRepository(session)
        self.usage = UsageLedger(session, deps.outbox)
        self.dispatcher = Dispatcher(session, deps)

    async def _expecting(self, job_id: int, trigger: Trigger) -> Job | None:
        """The job, locked, if its state expects this event."""
        job = await self.jobs.get_for_update(job_id)
        if job is None or not lifecycle.allows(job, trigger):
            log.info("job %s: %s ignored (the job is not waiting for it)", job_id, trigger)
            return None
        return job

    async def on_job_planned(self, event: JobPlanned) -> None:
        job = await self.jobs.get_for_update(event.job_id)
        if job is None:
            # Deleted while it was being planned: the plan has no job to serve.
            await self.deps.storage.delete(event.plan_key)
            return
        # The analysis was paid for, whether or not the job still wants its plan.
        await self.usage.charge(job, event.calls)
        if not lifecycle.allows(job, Trigger.PLANNED):
            log.info("job %s: planned ignored (the job is %s)", job.id, job.status)
            self.session.add(job)
            return
        if not event.segments:
            lifecycle.advance(job, Trigger.PLANNING_FAILED, "The book contains no text.")
            self.session.add(job)
            return
        await self.segments.add(event.job_id, event.segments)
        job.total_segments = len(event.segments)
        job.source_language = job.source_language or event.source_language
        job.context = event.context.model_dump(mode="json")
        job.estimate = {
            **event.estimate.model_dump(mode="json"),
            "total_tokens": event.estimate.total_tokens,
        }
        job.document = event.document.model_dump(mode="json") if event.document else None
        job.plan_key = event.plan_key
        lifecycle.advance(job, Trigger.PLANNED)
        # The plan is in hand: the first window is dispatched from it, without reading
        # back the rows just written (nobody else can see them before this commits).
        await self.dispatcher.advance(job, fresh=event.segments)
        self.session.add(job)

    async def on_planning_paused(self, event: JobPlanningPaused) -> None:
        job = await self._expecting(event.job_id, Trigger.PLANNING_CAPPED)
        if job is None:
            return
        if _cap_raised_since(job, event):
            # Only a resumption raises the cap, and it sent the plan again under the new
            # one: that command plans the job, this out-of-date refusal changes nothing.
            log.info("job %s: planning pause under a cap raised since ignored", job.id)
            return
        lifecycle.advance(job, Trigger.PLANNING_CAPPED, event.reason)
        job.estimate = {
            **event.estimate.model_dump(mode="json"),
            "total_tokens": event.estimate.total_tokens,
        }
        self.session.add(job)

    async def on_planning_failed(self, event: JobPlanningFailed) -> None:
        job = await self.jobs.get_for_update(event.job_id)
        if job is None:
            return
        await self.usage.charge(job, event.calls)  # failed or cancelled, it was paid for
        if lifecycle.allows(job, Trigger.PLANNING_FAILED):
            lifecycle.advance(job, Trigger.PLANNING_FAILED, event.reason)
        self.session.add(job)

    async def on_segment_translated(self, event: SegmentTranslated) -> None:
        # One statement stores the translation, the memory entry, the new calls, the count
        # and its event and the usage events (ResultRepository): the job row is locked in
        # it, last, and held only until the commit, so results of one job serialise only
        # on that short tail.
        stored = await self.results.store_translated(
            event,
            # Only finished work is remembered: a segment with a marked unit is asked again.
            remember=bool(
                event.fingerprint and event.unit_translations and not event.unit_failures
            ),
            messages=self.usage.unowned_event_rows(event.job_id, event.calls),
            at=datetime.now(UTC),
        )
        if stored is None:
            # Already in (a second worker's result, a redone command) or no such job: its
            # calls were still made, and are counted if not reported before.
            await self.usage.reported(event.job_id, event.calls, event.segment_index)
            return
        if stored.published:
            self.usage.staged()
        else:  # some calls were reported before: events for the new ones only
            await self.usage.publish(event.job_id, stored.owner_id, stored.new_calls)
        if stored.waiting or stored.translated >= stored.total:
            # More to dispatch, or the last one in: the full (locked) bookkeeping.
            job = await self.jobs.get_for_update(event.job_id)
            if job is not None:
                await self.dispatcher.advance(job)
                self.session.add(job)

    async def on_segment_failed(self, event: SegmentTranslationFailed) -> None:
        job = await self.jobs.get_for_update(event.job_id)
        if job is None:
            return
        # Failed attempts cost tokens too (and count towards the cap), whatever the state.
        await self.usage.charge(job, event.calls, event.segment_index)
        await self.segments.mark_failed(event.job_id, event.segment_index, event.reason)
        if lifecycle.allows(job, Trigger.SEGMENT_FAILED):
            lifecycle.advance(
                job,
                Trigger.SEGMENT_FAILED,
                f"Segment {event.segment_index} could not be translated: {event.reason}",
            )
        self.session.add(job)

    async def on_calls_recorded(self, event: CallsRecorded) -> None:
        """The worker's journal: calls stored once, whatever became of their command."""
        await self.usage.reported(event.job_id, event.calls, event.segment_index)

    async def on_analysis_calls_recorded(self, event: AnalysisCallsRecorded) -> None:
        """The journal's report of an analysis without a job (its reply, if one came,
        carried the same calls): stored once, the caller's."""
        await self.usage.record_analysis(event.owner_id, event.calls, allowance=event.allowance)

    async def on_segment_paused(self, event: SegmentPaused) -> None:
        """A call would have passed the cap or the daily allowance: the segment waits
        (pending again) and the job pauses with the worker's reason; unless the cap it was
        refused under has been raised since (a command sent before a resumption), when
        the segment is sent again under the raised cap."""
        job = await self.jobs.get_for_update(event.job_id)
        if job is None:
            return
        await self.usage.charge(job, event.calls, event.segment_index)
        await self.segments.release(event.job_id, event.segment_index)
        if _cap_raised_since(job, event):
            await self.dispatcher.advance(job)
        elif lifecycle.allows(job, Trigger.CAP_REACHED):
            lifecycle.advance(job, Trigger.CAP_REACHED, event.reason)
        elif lifecycle.state_of(job) is JobState.TRANSLATION_PAUSED:
            job.status_detail = event.reason  # the latest reason: what to change
        self.session.add(job)

    async def on_job_assembled(self, event: JobAssembled) -> None:
        job = await self._expecting(event.job_id, Trigger.ASSEMBLED)
        if job is None:
            return
        job.outputs = dict(event.outputs)
        lifecycle.advance(job, Trigger.ASSEMBLED)
        self.session.add(job)

    async def on_assembly_failed(self, event: JobAssemblyFailed) -> None:
        job = await self._expecting(event.job_id, Trigger.ASSEMBLY_FAILED)
        if job is None:
            return
        lifecycle.advance(
            job, Trigger.ASSEMBLY_FAILED, f"The output files could not be built: {event.reason}"
        )
        self.session.add(job)


def _cap_raised_since(job: Job, event: SegmentPaused | JobPlanningPaused) -> bool:
    """Whether the cap that refused the segment's call (or the analysis) is no longer the
    job's."""
    if event.max_tokens is None:
        return False  # the daily allowance refused it: resuming does not renew that
    return job.max_tokens is None or job.max_tokens > event.max_tokens
