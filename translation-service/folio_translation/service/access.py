"""Who may see which job: its owner and admins. Everyone else is told it does not exist."""

from __future__ import annotations

from folio.errors import NotFound
from folio.identity import Identity
from folio_translation.models import Job
from folio_translation.repository import JobRepository


async def visible_job(jobs: JobRepository, identity: Identity, job_id: int) -> Job:
    """The job if the caller may see it; NotFound otherwise (no existence leak)."""
    job = await jobs.get(job_id)
    if job is None or (job.owner_id != identity.user_id and not identity.is_admin):
        raise NotFound(f"Job {job_id} not found.")
    return job
