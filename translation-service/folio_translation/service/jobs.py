"""What users ask of their jobs: create one from an upload, list and read them.

Changing a job that exists (resume, cancel, delete) is :mod:`.job_control`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import GlossaryEntry, NarrativeStyle, PlanJob, ProviderConfig
from folio.errors import InvalidInput, NotFound, TooLarge, UnsupportedType
from folio.filenames import display_filename, extension
from folio.identity import Identity
from folio.storage import BlobTooLarge, StorageError
from folio_translation import lifecycle
from folio_translation.models import Job, new_job_id
from folio_translation.repository import JobRepository, SegmentRepository
from folio_translation.service.access import visible_job
from folio_translation.service.deps import JobDeps
from folio_translation.service.task_tracking import send_work
from folio_translation.service.tenancy import reuse_scope
from folio_translation.service.usage import refuse_if_allowance_spent, spend_limits, spent_tokens

log = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS = (".txt", ".text", ".md", ".markdown", ".docx", ".epub", ".pdf")
MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE = 1000, 50000
MAX_IDEMPOTENCY_KEY = 255


@dataclass(frozen=True)
class JobOptions:
    segment_size: int = 15000
    target_language: str = "ko"
    source_language: str | None = None
    mode: str = "default"
    provider: ProviderConfig | None = None
    # The model of the analysis pass when the user names one (style/glossary model).
    analysis_model: str | None = None
    style: NarrativeStyle | None = None
    glossary: list[GlossaryEntry] = field(default_factory=list)
    glossary_mode: str = "seed"
    max_tokens: int | None = None
    bilingual: bool = False
    validation_enabled: bool = False
    quick_validation: bool = False
    validation_sample_rate: int = 100  # percent, as the upstream stores it
    post_edit_enabled: bool = False
    colophon: bool = False  # record the machine translation (model, date) in the outputs
    vertical: bool = False  # CJK targets: EPUB written top to bottom, pages right to left

    def digest(self, filename: str) -> str:
        """Names what was asked for (keys by their ids only), for Idempotency-Key reuse."""
        values: dict[str, Any] = asdict(self)
        provider = self.provider
        values["provider"] = (
            None
            if provider is None
            else {
                **provider.model_dump(exclude={"api_keys", "service_account"}),
                "keys": provider.key_ids(),
            }
        )
        payload = json.dumps({"filename": filename, **values}, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()


def plan_command(job: Job, daily_tokens: int | None = None) -> PlanJob:
    """The command that (re)plans a job, from what the job row holds."""
    assert job.id is not None
    return PlanJob(
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
        analysis_model=job.analysis_model,
        spend=spend_limits(job, daily_tokens),
        reuse_scope=job.reuse_scope or "",
    )


class JobService:
    def __init__(self, session: AsyncSession, deps: JobDeps) -> None:
        self.session = session
        self.deps = deps
        self.jobs = JobRepository(session)

    # -- reading ---------------------------------------------------------------------

    async def visible_job(self, identity: Identity, job_id: int) -> Job:
        return await visible_job(self.jobs, identity, job_id)

    async def detail(self, identity: Identity, job_id: int) -> tuple[Job, list[dict[str, Any]]]:
        """The job and its segments that kept units untranslated."""
        job = await visible_job(self.jobs, identity, job_id)
        assert job.id is not None
        return job, await SegmentRepository(self.session).failures(job.id)

    async def status_of(self, job_id: int) -> dict:
        """The columns an anonymous poll may see (any job, by its unguessable id)."""
        row = await self.jobs.public_view(job_id)
        if row is None:
            raise NotFound(f"Job {job_id} not found.")
        return row

    async def list_jobs(self, identity: Identity, skip: int, limit: int) -> list[dict]:
        """The caller's own jobs, newest first (admins too see only their own here)."""
        return await self.jobs.list_for_owner(identity.user_id, skip=skip, limit=limit)

    # -- creating --------------------------------------------------------------------

    async def create_job(
        self,
        identity: Identity,
        raw_filename: str | None,
        chunks: AsyncIterator[bytes],
        options: JobOptions,
        *,
        max_bytes: int,
        idempotency_key: str | None = None,
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
        key = (idempotency_key or "").strip() or None
        if key is not None and (len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable()):
            raise InvalidInput(
                f"Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY} printable characters."
            )
        digest = options.digest(filename)
        if key is not None:
            earlier = await self._earlier(identity, key, digest)
            if earlier is not None:
                return earlier  # a retry: the job the first request made
        credentials = None
        if options.provider is not None:
            if self.deps.sealer is None:
                raise InvalidInput("This deployment does not accept user API keys.")
            if self.deps.checker is not None:
                await self.deps.checker.check(options.provider)
            credentials = self.deps.sealer.seal(options.provider)
        else:  # the deployment's own key: the daily allowance (a user's own key is theirs)
            await refuse_if_allowance_spent(self.session, identity.user_id, self.deps.daily_tokens)
        model = options.provider.model if options.provider else self.deps.default_model
        try:
            blob = await self.deps.storage.put_stream("uploads", chunks, max_bytes=max_bytes)
        except BlobTooLarge as exc:
            raise TooLarge(f"The file is too large; the limit is {exc.limit} bytes.") from exc
        if blob.size == 0:
            await self._discard(blob.key)
            raise InvalidInput("The uploaded file is empty.")
        initial = lifecycle.initial_state()
        analysis_model = options.analysis_model if options.provider else None
        job = Job(
            owner_id=identity.user_id,
            idempotency_key=key,
            request_digest=digest,
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
            output_options=(
                {"colophon": options.colophon, "vertical": options.vertical}
                if options.colophon or options.vertical
                else None
            ),
            credentials=credentials,
            style_input=options.style.model_dump(mode="json") if options.style else None,
            glossary_input=[g.model_dump(mode="json") for g in options.glossary] or None,
            glossary_mode=options.glossary_mode,
            upload_key=blob.key,
            upload_size=blob.size,
            upload_sha256=blob.sha256,
            validation_enabled=options.validation_enabled,
            quick_validation=options.quick_validation,
            validation_sample_rate=options.validation_sample_rate,
            post_edit_enabled=options.post_edit_enabled,
            analysis_model=analysis_model,
            own_provider=options.provider is not None,
            reuse_scope=reuse_scope(identity.user_id, options.provider),
        )
        stored = await self._insert(job, identity, key, digest)
        if stored is not job:  # a concurrent request with the same key won
            await self._discard(blob.key)
            return stored
        await send_work(self.session, self.deps, job, [plan_command(job, self.deps.daily_tokens)])
        return job

    async def _earlier(self, identity: Identity, key: str, digest: str) -> Job | None:
        earlier = await self.jobs.by_idempotency_key(identity.user_id, key)
        if earlier is not None and earlier.request_digest != digest:
            raise InvalidInput(
                "This Idempotency-Key was already used for an upload with other options; "
                "use a new key for a new job."
            )
        return earlier

    async def _insert(self, job: Job, identity: Identity, key: str | None, digest: str) -> Job:
        """Insert the job; on a clash (the same Idempotency-Key committed meanwhile, or a
        random id already taken) return the earlier job or try another id."""
        for _ in range(3):
            try:
                async with self.session.begin_nested():
                    await self.jobs.add(job)
                return job
            except IntegrityError:
                if key is not None:
                    earlier = await self._earlier(identity, key, digest)
                    if earlier is not None:
                        return earlier
                job.id = new_job_id()
        raise RuntimeError("could not store the job")

    async def _discard(self, key: str) -> None:
        try:
            await self.deps.storage.delete(key)
        except StorageError:
            log.warning("could not delete the unused upload %s", key)
