"""What users do to a job that exists: resume it, re-translate chosen segments, cancel it,
delete it.

Resuming a paused job goes on where the cap stopped it; resuming a failed one plans it
again, sends its failed segments again, or assembles it again. Re-translating resets the
chosen segments of a finished book to pending and dispatches them like any others; the
book is assembled again once they are in. Neither pays twice for finished work: segments
not chosen are never sent, and a segment with marked units reuses the cached answers of
its good units.

Cancelling really stops spending: the job leaves the states that dispatch work (pending
segments are never sent), its provider keys are erased, and ``JobCancelled`` tells every
worker to drop the job's queued commands and end its calls in flight. Deleting does the
same, then removes the job's rows and (after the commit) its blobs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import UNIT_CHECKS, JobCancelled, ProviderConfig
from folio.errors import Conflict, InvalidInput
from folio.identity import Identity
from folio_translation import lifecycle
from folio_translation.lifecycle import JobState, Trigger
from folio_translation.models import Job
from folio_translation.repository import JobRepository, SegmentRepository
from folio_translation.service.access import visible_job
from folio_translation.service.deps import JobDeps
from folio_translation.service.dispatch import Dispatcher
from folio_translation.service.jobs import plan_command
from folio_translation.service.task_tracking import send_work
from folio_translation.service.tenancy import reuse_scope


@dataclass(frozen=True)
class Resumption:
    """What a resume may change: the spending cap, and the provider (with a key)."""

    max_tokens: int | None = None
    provider: ProviderConfig | None = None


@dataclass(frozen=True)
class Selection:
    """Which segments to translate again: exactly one of these."""

    indices: tuple[int, ...] | None = None
    failed: bool = False
    check: str | None = None  # a UnitFailure.check
    chapters: tuple[int, int] | None = None  # first and last chapter index, inclusive


@dataclass(frozen=True)
class DeletedJob:
    """What is left to remove once the deletion is committed."""

    blob_keys: tuple[str, ...]
    blob_prefixes: tuple[str, ...]


class JobControl:
    def __init__(self, session: AsyncSession, deps: JobDeps) -> None:
        self.session = session
        self.deps = deps
        self.jobs = JobRepository(session)

    async def _locked(self, identity: Identity, job_id: int) -> Job:
        await visible_job(self.jobs, identity, job_id)
        job = await self.jobs.get_for_update(job_id)
        assert job is not None
        return job

    async def resume(self, identity: Identity, job_id: int, resumption: Resumption) -> Job:
        job = await self._locked(identity, job_id)
        state = lifecycle.state_of(job)
        if not lifecycle.allows(job, Trigger.RESUMED):
            raise Conflict(
                f"Only a paused or failed job can be resumed; this one is {job.status}."
                if job.status != "PROCESSING"
                else "Job is already processing"
            )
        if resumption.max_tokens is not None:
            if resumption.max_tokens < 1:
                raise InvalidInput("max_tokens must be a positive number of tokens.")
            job.max_tokens = resumption.max_tokens
        # Building the files again calls no model: no keys needed for that.
        await self._provide(
            job, resumption.provider, needs_keys=state is not JobState.ASSEMBLY_FAILED
        )
        if state is JobState.TRANSLATION_FAILED:
            assert job.id is not None
            await SegmentRepository(self.session).reset_failed(job.id)
        if lifecycle.advance(job, Trigger.RESUMED) is JobState.PLANNING:
            # It paused (or failed) before its plan was stored: plan again.
            await send_work(
                self.session, self.deps, job, [plan_command(job, self.deps.daily_tokens)]
            )
        else:
            await Dispatcher(self.session, self.deps).advance(job)
        self.session.add(job)
        return job

    async def retranslate(
        self,
        identity: Identity,
        job_id: int,
        selection: Selection,
        provider: ProviderConfig | None = None,
    ) -> tuple[Job, list[int]]:
        """Translate the chosen segments of a finished book again; returns them."""
        job = await self._locked(identity, job_id)
        assert job.id is not None
        if not lifecycle.allows(job, Trigger.RETRANSLATE):
            raise Conflict(
                f"Only a completed job's segments can be translated again; this one is "
                f"{job.status}."
                + (" Resume it instead." if job.status in ("FAILED", "PAUSED") else "")
            )
        indexes = await self._selected(job, selection)
        await self._provide(job, provider)
        segments = SegmentRepository(self.session)
        counted = await segments.reset(job.id, indexes)
        job.translated_segments = max(0, job.translated_segments - counted)
        job.progress = min(99, job.translated_segments * 100 // max(job.total_segments or 1, 1))
        lifecycle.advance(job, Trigger.RETRANSLATE)
        await Dispatcher(self.session, self.deps).advance(job)
        self.session.add(job)
        return job, indexes

    async def _selected(self, job: Job, selection: Selection) -> list[int]:
        assert job.id is not None
        chosen = sum(
            (
                selection.indices is not None,
                selection.failed,
                selection.check is not None,
                selection.chapters is not None,
            )
        )
        if chosen != 1:
            raise InvalidInput(
                "Choose the segments in one way: segment_indices, filter=failed, check, or "
                "chapters."
            )
        segments = SegmentRepository(self.session)
        if selection.indices is not None:
            total = job.total_segments or 0
            wrong = sorted({i for i in selection.indices if not 0 <= i < total})
            if wrong:
                raise InvalidInput(
                    f"No such segment: {', '.join(map(str, wrong[:10]))} (the job has "
                    f"{total} segments, numbered from 0)."
                )
            indexes = sorted(set(selection.indices))
        elif selection.check is not None:
            if selection.check not in UNIT_CHECKS:
                raise InvalidInput(
                    f"Unknown check {selection.check!r}; one of: {', '.join(UNIT_CHECKS)}."
                )
            indexes = await segments.matching(job.id, check=selection.check)
        elif selection.chapters is not None:
            first, last = selection.chapters
            if not 0 <= first <= last:
                raise InvalidInput("chapters needs 0 <= first <= last.")
            indexes = await segments.matching(job.id, chapters=(first, last))
        else:
            indexes = await segments.matching(job.id, failed=True)
        if not indexes:
            raise InvalidInput("No segment of this job matches; nothing to translate again.")
        return indexes

    async def _provide(
        self, job: Job, provider: ProviderConfig | None, *, needs_keys: bool = True
    ) -> None:
        """Take the provider the user sends (checked like an upload's); a job on the user's
        own provider whose keys were erased (it stopped) cannot go on without them."""
        if provider is None:
            if needs_keys and job.own_provider and job.credentials is None:
                raise InvalidInput(
                    "This job runs on your own model provider and its keys were erased when "
                    "it stopped: send api_key (and its provider settings) again."
                )
            return
        if self.deps.sealer is None:
            raise InvalidInput("This deployment does not accept user API keys.")
        if self.deps.checker is not None:
            await self.deps.checker.check(provider)
        job.credentials = self.deps.sealer.seal(provider)
        job.model = provider.model
        job.own_provider = True
        job.reuse_scope = reuse_scope(job.owner_id, provider)

    async def cancel(self, identity: Identity, job_id: int) -> Job:
        job = await self._locked(identity, job_id)
        if not lifecycle.allows(job, Trigger.CANCELLED):
            raise Conflict(f"The job is {job.status}: there is nothing to cancel.")
        lifecycle.advance(job, Trigger.CANCELLED, "Cancelled by its owner.")
        await self._stop_work(job, deleted=False)
        self.session.add(job)
        return job

    async def delete(self, identity: Identity, job_id: int) -> DeletedJob:
        job = await self._locked(identity, job_id)
        assert job.id is not None
        # Even a finished job may have a late command queued: workers drop it.
        await self._stop_work(job, deleted=True)
        keys = tuple(k for k in (job.upload_key, *(job.outputs or {}).values()) if k)
        await self.jobs.delete(job)
        return DeletedJob(blob_keys=keys, blob_prefixes=(f"jobs/{job.id}",))

    async def _stop_work(self, job: Job, *, deleted: bool) -> None:
        assert job.id is not None
        await self.deps.outbox.add(
            self.session,
            JobCancelled(job_id=job.id, deleted=deleted),
            correlation_id=f"job-{job.id}",
        )

    async def remove_blobs(self, deleted: DeletedJob) -> None:
        """After the deletion committed: the upload, the plan, the outputs, the exports."""
        for key in deleted.blob_keys:
            await self.deps.storage.delete(key)
        for prefix in deleted.blob_prefixes:
            await self.deps.storage.delete_prefix(prefix)
