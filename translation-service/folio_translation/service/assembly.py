"""Handing the stored translations to the worker, which builds the output files."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import AssembleJob, AssemblySnapshot, GlossaryEntry
from folio_translation import lifecycle
from folio_translation.lifecycle import Trigger
from folio_translation.models import Job
from folio_translation.repository import SegmentRepository
from folio_translation.service.deps import JobDeps
from folio_translation.service.task_tracking import send_work


async def request_assembly(session: AsyncSession, deps: JobDeps, job: Job) -> None:
    """Snapshot the translations (a blob the command names) and send ``AssembleJob``."""
    if not lifecycle.allows(job, Trigger.ALL_TRANSLATED):
        return  # already assembling
    assert job.id is not None and job.plan_key is not None
    snapshot = AssemblySnapshot(
        job_id=job.id,
        plan_key=job.plan_key,
        glossary=[GlossaryEntry.model_validate(g) for g in (job.context or {}).get("glossary", [])],
        segments=await SegmentRepository(session).for_assembly(job.id),
    )
    blob = await deps.storage.put_bytes(
        f"jobs/{job.id}/assembly", snapshot.dump(), name="translations.json"
    )
    lifecycle.advance(job, Trigger.ALL_TRANSLATED)
    await send_work(
        session,
        deps,
        job,
        [
            AssembleJob(
                job_id=job.id,
                target_language=job.target_language,
                source_language=job.source_language,
                model=job.model,
                upload_key=job.upload_key,
                filename=job.filename,
                translations_key=blob.key,
                bilingual=job.bilingual,
                colophon=bool((job.output_options or {}).get("colophon")),
                vertical=bool((job.output_options or {}).get("vertical")),
                document_fingerprint=(job.document or {}).get("fingerprint", ""),
            )
        ],
    )
