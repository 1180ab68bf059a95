"""What users do to a job that exists: resume it, cancel it, delete it.

Cancelling really stops spending: the job leaves the states that dispatch work (pending
segments are never sent), its provider keys are erased, and ``JobCancelled`` tells every
worker to drop the job's queued commands and end its calls in flight. Deleting does the
same, then removes the job's rows and (after the commit) its blobs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import JobCancelled, ProviderConfig
from folio.errors import Conflict, InvalidInput
from folio.identity import Identity
from folio_translation import lifecycle
from folio_translation.lifecycle import JobState, Trigger
from folio_translation.models import Job
from folio_translation.repository import JobRepository
from folio_translation.service.access import visible_job
from folio_translation.service.deps import JobDeps
from folio_translation.service.dispatch import Dispatcher
from folio_translation.service.jobs import plan_command
from folio_translation.service.task_tracking import send_work


@dataclass(frozen=True)
class Resumption:
    """What a resume may change: the spending cap, and the provider (with a key)."""

    max_tokens: int | None = None
    provider: ProviderConfig | None = None


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
        if not lifecycle.allows(job, Trigger.RESUMED):
            raise Conflict(
                f"Only a paused job can be resumed; this one is {job.status}."
                if job.status != "PROCESSING"
                else "Job is already processing"
            )
        if resumption.max_tokens is not None:
            if resumption.max_tokens < 1:
                raise InvalidInput("max_tokens must be a positive number of tokens.")
            job.max_tokens = resumption.max_tokens
        if resumption.provider is not None:
            if self.deps.sealer is None:
                raise InvalidInput("This deployment does not accept user API keys.")
            if self.deps.checker is not None:
                await self.deps.checker.check(resumption.provider)
            job.credentials = self.deps.sealer.seal(resumption.provider)
            job.model = resumption.provider.model
        if lifecycle.advance(job, Trigger.RESUMED) is JobState.PLANNING:
            # It paused before the analysis: plan again.
            await send_work(
                self.session, self.deps, job, [plan_command(job, self.deps.daily_tokens)]
            )
        else:
            await Dispatcher(self.session, self.deps).advance(job)
        self.session.add(job)
        return job

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
