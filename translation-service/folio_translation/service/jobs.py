"""What users ask of their jobs: create one from an upload, resume a paused one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import GlossaryEntry, NarrativeStyle, PlanJob, ProviderConfig
from folio.errors import Conflict, InvalidInput, TooLarge, UnsupportedType
from folio.filenames import display_filename, extension
from folio.identity import Identity
from folio.storage import BlobTooLarge
from folio_translation import lifecycle
from folio_translation.lifecycle import JobState, Trigger
from folio_translation.models import Job
from folio_translation.repository import JobRepository
from folio_translation.service.access import visible_job
from folio_translation.service.deps import JobDeps
from folio_translation.service.dispatch import Dispatcher
from folio_translation.service.usage import spent_tokens

SUPPORTED_EXTENSIONS = (".txt", ".text", ".md", ".markdown", ".docx", ".epub", ".pdf")
MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE = 1000, 50000


@dataclass(frozen=True)
class JobOptions:
    segment_size: int = 15000
    target_language: str = "ko"
    source_language: str | None = None
    mode: str = "default"
    provider: ProviderConfig | None = None
    style: NarrativeStyle | None = None
    glossary: list[GlossaryEntry] = field(default_factory=list)
    glossary_mode: str = "seed"
    max_tokens: int | None = None
    bilingual: bool = False


class JobService:
    def __init__(self, session: AsyncSession, deps: JobDeps) -> None:
        self.session = session
        self.deps = deps
        self.jobs = JobRepository(session)

    async def visible_job(self, identity: Identity, job_id: int) -> Job:
        return await visible_job(self.jobs, identity, job_id)

    async def create_job(
        self,
        identity: Identity,
        raw_filename: str | None,
        chunks: AsyncIterator[bytes],
        options: JobOptions,
        *,
        max_bytes: int,
    ) -> Job:
        filename = display_filename(raw_filename)
        ext = extension(filename)
        if ext not in SUPPORTED_EXTENSIONS:
            raise UnsupportedType(
                f"Unsupported file type {ext or '(none)'!r}; "
                f"supported: {', '.join(SUPPORTED_EXTENSIONS)}."
            )
        if not MIN_SEGMENT_SIZE <= options.segment_size <= MAX_SEGMENT_SIZE:
            raise InvalidInput(
                f"segment_size must be between {MIN_SEGMENT_SIZE} and {MAX_SEGMENT_SIZE} "
                "characters."
            )
        if options.max_tokens is not None and options.max_tokens < 1:
            raise InvalidInput("max_tokens must be a positive number of tokens.")
        credentials = None
        if options.provider is not None:
            if self.deps.sealer is None:
                raise InvalidInput("This deployment does not accept user API keys.")
            credentials = self.deps.sealer.seal(options.provider)
        model = options.provider.model if options.provider else self.deps.default_model
        try:
            blob = await self.deps.storage.put_stream("uploads", chunks, max_bytes=max_bytes)
        except BlobTooLarge as exc:
            raise TooLarge(f"The file is too large; the limit is {exc.limit} bytes.") from exc
        if blob.size == 0:
            raise InvalidInput("The uploaded file is empty.")
        initial = lifecycle.initial_state()
        job = await self.jobs.add(
            Job(
                owner_id=identity.user_id,
                filename=filename,
                status=initial.status,
                phase=initial.phase,
                segment_size=options.segment_size,
                target_language=options.target_language,
                source_language=options.source_language,
                mode=options.mode,
                model=model,
                max_tokens=options.max_tokens,
                bilingual=options.bilingual,
                credentials=credentials,
                style_input=options.style.model_dump(mode="json") if options.style else None,
                glossary_input=[g.model_dump(mode="json") for g in options.glossary] or None,
                glossary_mode=options.glossary_mode,
                upload_key=blob.key,
                upload_size=blob.size,
                upload_sha256=blob.sha256,
            )
        )
        await self._request_plan(job)
        return job

    async def resume(self, identity: Identity, job_id: int, max_tokens: int | None) -> Job:
        await self.visible_job(identity, job_id)
        job = await self.jobs.get_for_update(job_id)
        assert job is not None
        if not lifecycle.allows(job, Trigger.RESUMED):
            raise Conflict(f"Only a paused job can be resumed; this one is {job.status}.")
        if max_tokens is not None:
            if max_tokens < 1:
                raise InvalidInput("max_tokens must be a positive number of tokens.")
            job.max_tokens = max_tokens
        if lifecycle.advance(job, Trigger.RESUMED) is JobState.PLANNING:
            await self._request_plan(job)  # it paused before the analysis
        else:
            await Dispatcher(self.session, self.deps).advance(job)
        self.session.add(job)
        return job

    async def _request_plan(self, job: Job) -> None:
        assert job.id is not None
        await self.deps.outbox.add(
            self.session,
            PlanJob(
                job_id=job.id,
                upload_key=job.upload_key,
                filename=job.filename,
                segment_size=job.segment_size,
                target_language=job.target_language,
                source_language=job.source_language,
                model=job.model,
                credentials=job.credentials,
                mode=job.mode,  # type: ignore[arg-type]
                style=NarrativeStyle.model_validate(job.style_input) if job.style_input else None,
                glossary=[GlossaryEntry.model_validate(g) for g in job.glossary_input or []],
                glossary_mode=job.glossary_mode,
                max_tokens=job.max_tokens,
                spent_tokens=spent_tokens(job),
            ),
            correlation_id=f"job-{job.id}",
        )
