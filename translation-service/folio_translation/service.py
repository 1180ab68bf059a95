"""Business rules of translation jobs. Callers own the transaction; nothing commits here.

The job advances through phases: planning (the worker parses, segments, analyses and
estimates) -> translating (segments dispatched in a window, each result stored once) ->
assembling (the worker builds the output files) -> done. Dispatching is where the per-job
concurrency bound, strict continuity, the translation memory and the spending cap apply.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import (
    AssembleJob,
    CallRecord,
    GlossaryEntry,
    JobAssembled,
    JobAssemblyFailed,
    JobPlanned,
    JobPlanningFailed,
    JobPlanningPaused,
    NarrativeStyle,
    PlanJob,
    PlannedSegment,
    PlannedUnit,
    ProviderConfig,
    SegmentContext,
    SegmentTranslated,
    SegmentTranslationFailed,
    TokenUsage,
    TranslateSegment,
)
from folio.contracts.engine import fingerprint, usage_of
from folio.credentials import CredentialSealer
from folio.errors import Problem
from folio.filenames import display_filename, extension
from folio.identity import Identity
from folio.messaging import Outbox
from folio.storage import BlobStorage, BlobTooLarge
from folio_translation.models import Job, JobPhase, JobStatus, Segment, SegmentStatus
from folio_translation.repository import JobRepository, MemoryRepository

log = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS = (".txt", ".text", ".md", ".markdown", ".docx", ".epub", ".pdf")
MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE = 1000, 50000
# Strict continuity hands each segment the end of the previous segment's translation.
PREVIOUS_TRANSLATION_CHARS = 1500
OUTPUT_KINDS = ("txt", "bilingual_txt", "epub", "bilingual_epub", "segments", "glossary")


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


@dataclass(frozen=True)
class JobDeps:
    """What job handling needs besides the session (built once per process)."""

    outbox: Outbox
    storage: BlobStorage
    sealer: CredentialSealer | None
    default_model: str
    dispatch_window: int = 16


class JobService:
    def __init__(self, session: AsyncSession, deps: JobDeps) -> None:
        self.session = session
        self.deps = deps
        self.jobs = JobRepository(session)
        self.memory = MemoryRepository(session)

    # -- commands from the API ---------------------------------------------------------

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
            raise Problem(
                415,
                f"Unsupported file type {ext or '(none)'!r}; "
                f"supported: {', '.join(SUPPORTED_EXTENSIONS)}.",
            )
        if not MIN_SEGMENT_SIZE <= options.segment_size <= MAX_SEGMENT_SIZE:
            raise Problem(
                422,
                f"segment_size must be between {MIN_SEGMENT_SIZE} and {MAX_SEGMENT_SIZE} "
                "characters.",
            )
        if options.max_tokens is not None and options.max_tokens < 1:
            raise Problem(422, "max_tokens must be a positive number of tokens.")
        credentials = None
        if options.provider is not None:
            if self.deps.sealer is None:
                raise Problem(422, "This deployment does not accept user API keys.")
            credentials = self.deps.sealer.seal(options.provider)
        model = options.provider.model if options.provider else self.deps.default_model
        try:
            blob = await self.deps.storage.put_stream("uploads", chunks, max_bytes=max_bytes)
        except BlobTooLarge as exc:
            raise Problem(413, f"The file is too large; the limit is {exc.limit} bytes.") from exc
        if blob.size == 0:
            raise Problem(422, "The uploaded file is empty.")
        job = await self.jobs.add(
            Job(
                owner_id=identity.user_id,
                filename=filename,
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

    async def _request_plan(self, job: Job) -> None:
        assert job.id is not None
        job.phase = JobPhase.PLANNING
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
                spent_tokens=job.input_tokens + job.output_tokens + job.thinking_tokens,
            ),
            correlation_id=f"job-{job.id}",
        )

    async def visible_job(self, identity: Identity, job_id: int) -> Job:
        """The job if the caller may see it; 404 otherwise (no existence leak)."""
        job = await self.jobs.get(job_id)
        if job is None or (job.owner_id != identity.user_id and not identity.is_admin):
            raise Problem(404, f"Job {job_id} not found.")
        return job

    async def resume(self, identity: Identity, job_id: int, max_tokens: int | None) -> Job:
        await self.visible_job(identity, job_id)
        job = await self.jobs.get_for_update(job_id)
        assert job is not None
        if job.status != JobStatus.PAUSED:
            raise Problem(409, f"Only a paused job can be resumed; this one is {job.status}.")
        if max_tokens is not None:
            if max_tokens < 1:
                raise Problem(422, "max_tokens must be a positive number of tokens.")
            job.max_tokens = max_tokens
        job.status = JobStatus.PROCESSING
        job.status_detail = None
        if job.phase == JobPhase.PLANNING:
            job.status = JobStatus.PENDING
            await self._request_plan(job)
        else:
            await self._advance(job)
        self.session.add(job)
        return job

    async def output(
        self, identity: Identity, job_id: int, kind: str | None
    ) -> tuple[Job, str, str]:
        """(job, storage key, download name) of a finished job's output file."""
        job = await self.visible_job(identity, job_id)
        if job.status != JobStatus.COMPLETED:
            raise Problem(422, f"Translation is not completed yet. Current status: {job.status}")
        outputs = job.outputs or {}
        if kind is None:
            kind = "epub" if "epub" in outputs else "txt"
        if kind not in OUTPUT_KINDS:
            raise Problem(
                422, f"Unknown format {kind!r}; choose one of: {', '.join(OUTPUT_KINDS)}."
            )
        if kind not in outputs:
            available = ", ".join(sorted(outputs)) or "none"
            raise Problem(404, f"This job has no {kind} output (available: {available}).")
        stem = job.filename.rsplit(".", 1)[0] if "." in job.filename else job.filename
        suffix = {
            "txt": "translated.txt",
            "bilingual_txt": "bilingual.txt",
            "epub": "translated.epub",
            "bilingual_epub": "bilingual.epub",
            "segments": "segments.json",
            "glossary": "glossary.json",
        }[kind]
        return job, outputs[kind], f"{stem}_{suffix}"

    async def partial_text(self, identity: Identity, job_id: int) -> tuple[Job, str]:
        """What a failed job translated, for download (as upstream allows)."""
        job = await self.visible_job(identity, job_id)
        assert job.id is not None
        texts = await self.jobs.translated_texts(job.id)
        return job, "\n\n".join(texts) + ("\n" if texts else "")

    # -- events from the worker --------------------------------------------------------

    async def on_job_planned(self, event: JobPlanned) -> None:
        job = await self.jobs.get_for_update(event.job_id)
        if job is None or job.status != JobStatus.PENDING or job.phase != JobPhase.PLANNING:
            log.info("job %s: plan ignored (not waiting for one)", event.job_id)
            return
        await self._record(job, event.calls)
        if not event.segments:
            await self._fail(job, "The book contains no text.")
            return
        await self.jobs.add_segments(event.job_id, event.segments)
        job.total_segments = len(event.segments)
        job.source_language = job.source_language or event.source_language
        job.context = event.context.model_dump(mode="json")
        job.estimate = {
            **event.estimate.model_dump(mode="json"),
            "total_tokens": event.estimate.total_tokens,
        }
        job.document = event.document.model_dump(mode="json") if event.document else None
        job.plan_key = event.plan_key
        job.status = JobStatus.PROCESSING
        job.phase = JobPhase.TRANSLATING
        # The plan is in hand: the first window is dispatched from it, without reading
        # back the rows just written (nobody else can see them before this commits).
        await self._advance(job, fresh=event.segments)
        self.session.add(job)

    async def on_planning_paused(self, event: JobPlanningPaused) -> None:
        job = await self.jobs.get_for_update(event.job_id)
        if job is None or job.status != JobStatus.PENDING:
            return
        job.status = JobStatus.PAUSED
        job.status_detail = event.reason
        job.estimate = {
            **event.estimate.model_dump(mode="json"),
            "total_tokens": event.estimate.total_tokens,
        }
        self.session.add(job)

    async def on_planning_failed(self, event: JobPlanningFailed) -> None:
        job = await self.jobs.get_for_update(event.job_id)
        if job is None or job.status in (JobStatus.COMPLETED, JobStatus.FAILED):
            return
        await self._record(job, event.calls)
        await self._fail(job, event.reason)

    async def on_segment_translated(self, event: SegmentTranslated) -> None:
        # Everything that concerns only this segment happens first; the job row is locked
        # last (its counter update is the final statement before the commit), so results of
        # one job serialise only on that short tail.
        owner = await self.jobs.store_translation(
            event.job_id,
            event.segment_index,
            event.translated_text,
            event.unit_translations,
            event.model,
        )
        if owner is None:
            return  # already in (a redelivery or a second worker's result), or no such job
        if event.fingerprint and event.unit_translations:
            await self.memory.remember(event.fingerprint, event.model, event.unit_translations)
        await self.jobs.record_calls(event.job_id, owner, event.calls, event.segment_index)
        translated, total, waiting = await self.jobs.count_translated(event.job_id, event.usage)
        if waiting or translated >= total:
            # More to dispatch, or the last one in: the full (locked) bookkeeping.
            job = await self.jobs.get_for_update(event.job_id)
            if job is not None:
                await self._advance(job)
                self.session.add(job)

    async def on_segment_failed(self, event: SegmentTranslationFailed) -> None:
        job = await self.jobs.get_for_update(event.job_id)
        if job is None:
            return
        await self._record(job, event.calls, event.segment_index)
        self.jobs.add_usage(job, usage_of(event.calls))  # failed attempts cost tokens too
        await self.jobs.mark_segment_failed(event.job_id, event.segment_index, event.reason)
        if job.status in (JobStatus.PROCESSING, JobStatus.PAUSED):
            await self._fail(
                job, f"Segment {event.segment_index} could not be translated: {event.reason}"
            )

    async def on_job_assembled(self, event: JobAssembled) -> None:
        job = await self.jobs.get_for_update(event.job_id)
        if job is None or job.phase != JobPhase.ASSEMBLING or job.status == JobStatus.FAILED:
            return
        job.outputs = dict(event.outputs)
        job.status = JobStatus.COMPLETED
        job.phase = JobPhase.DONE
        job.progress = 100
        job.credentials = None  # the keys are no longer needed: erase them
        job.completed_at = datetime.now(UTC)
        job.updated_at = job.completed_at
        self.session.add(job)

    async def on_assembly_failed(self, event: JobAssemblyFailed) -> None:
        job = await self.jobs.get_for_update(event.job_id)
        if job is None or job.status in (JobStatus.COMPLETED, JobStatus.FAILED):
            return
        await self._fail(job, f"The output files could not be built: {event.reason}")

    # -- dispatching -------------------------------------------------------------------

    async def _advance(self, job: Job, fresh: Sequence[PlannedSegment] | None = None) -> None:
        """Dispatch what the window, the mode and the cap allow; assemble when all are in.

        The caller holds the job row lock, so concurrent results serialise here.
        ``fresh`` is the plan just stored (every segment pending), when there is one.
        """
        if job.phase != JobPhase.TRANSLATING or job.status not in (
            JobStatus.PROCESSING,
            JobStatus.PAUSED,
        ):
            return
        assert job.id is not None
        if fresh is not None:
            states = [(p.index, SegmentStatus.PENDING, p.estimated_tokens) for p in fresh]
        else:
            states = await self.jobs.segment_states(job.id)
        status = {index: state for index, state, _ in states}
        if job.status == JobStatus.PROCESSING:
            if job.mode == "strict":
                await self._advance_strict(job, states, status)
            else:
                status.update(await self._advance_window(job, states, fresh))
        if all(state == SegmentStatus.TRANSLATED for state in status.values()):
            await self._request_assembly(job)

    async def _advance_window(
        self,
        job: Job,
        states: list[tuple[int, str, int]],
        fresh: Sequence[PlannedSegment] | None = None,
    ) -> dict[int, str]:
        """Fill the dispatch window; returns the segments served from memory meanwhile.

        Segments served from the translation memory take no room in the window, so
        claiming goes on until the window is full or nothing is pending.
        """
        assert job.id is not None
        served: dict[int, str] = {}
        in_flight = [tokens for _, state, tokens in states if state == SegmentStatus.DISPATCHED]
        room = max(1, self.deps.dispatch_window) - len(in_flight)
        spent = job.input_tokens + job.output_tokens + job.thinking_tokens
        reserved = sum(in_flight)
        queue = [_Work.planned(p, job.plan_key) for p in fresh] if fresh is not None else None
        while room > 0:
            if queue is not None:
                batch, queue = queue[:room], queue[room:]
            else:
                batch = [_Work.stored(s, job) for s in await self.jobs.claim_pending(job.id, room)]
            if not batch:
                break
            commands = [self._segment_command(job, work, "") for work in batch]
            fingerprints = [fingerprint(_fingerprint_payload(c), model=job.model) for c in commands]
            remembered = await self.memory.lookup(fingerprints)
            dispatch: list[TranslateSegment] = []
            capped = False
            for work, command, fp in zip(batch, commands, fingerprints, strict=True):
                memo = remembered.get(fp)
                if memo is not None and len(memo) == work.unit_count:
                    await self._store_remembered(job, work.index, memo)
                    served[work.index] = SegmentStatus.TRANSLATED
                    continue
                if job.max_tokens is not None and (
                    spent + reserved + work.estimated_tokens > job.max_tokens
                ):
                    self._pause_for_cap(job, spent, reserved, work.index, work.estimated_tokens)
                    capped = True
                    break
                dispatch.append(command.model_copy(update={"fingerprint": fp}))
                reserved += work.estimated_tokens
            await self._dispatch(job, dispatch)
            room -= len(dispatch)
            if capped:
                break
        return served

    async def _advance_strict(
        self, job: Job, states: list[tuple[int, str, int]], status: dict[int, str]
    ) -> None:
        """One segment at a time, each with the end of the previous translation."""
        assert job.id is not None
        if any(state == SegmentStatus.DISPATCHED for state in status.values()):
            return
        spent = job.input_tokens + job.output_tokens + job.thinking_tokens
        for index, state, _ in states:
            if state != SegmentStatus.PENDING:
                continue
            if index > 0 and status.get(index - 1) != SegmentStatus.TRANSLATED:
                return
            previous = (
                (await self.jobs.translated_text_of(job.id, index - 1))[
                    -PREVIOUS_TRANSLATION_CHARS:
                ]
                if index > 0
                else ""
            )
            (segment,) = await self.jobs.segments_by_index(job.id, [index])
            work = _Work.stored(segment, job)
            command = self._segment_command(job, work, previous)
            fp = fingerprint(_fingerprint_payload(command), model=job.model)
            memo = (await self.memory.lookup([fp])).get(fp)
            if memo is not None and len(memo) == work.unit_count:
                await self._store_remembered(job, index, memo)
                status[index] = SegmentStatus.TRANSLATED
                continue
            if job.max_tokens is not None and spent + work.estimated_tokens > job.max_tokens:
                self._pause_for_cap(job, spent, 0, index, work.estimated_tokens)
                return
            await self._dispatch(job, [command.model_copy(update={"fingerprint": fp})])
            return

    async def _dispatch(self, job: Job, commands: list[TranslateSegment]) -> None:
        assert job.id is not None
        if not commands:
            return
        await self.deps.outbox.add_many(self.session, commands, correlation_id=f"job-{job.id}")
        await self.jobs.mark_dispatched(job.id, {c.segment_index: c.fingerprint for c in commands})

    def _pause_for_cap(
        self, job: Job, spent: int, reserved: int, index: int, estimated_tokens: int
    ) -> None:
        job.status = JobStatus.PAUSED
        job.status_detail = (
            f"Paused: the spending cap of {job.max_tokens} tokens would be exceeded "
            f"({spent} spent, {reserved} reserved by segments in progress, about "
            f"{estimated_tokens} needed for segment {index}). "
            "Raise max_tokens and resume the job."
        )

    def _segment_command(self, job: Job, work: _Work, previous: str) -> TranslateSegment:
        assert job.id is not None
        context = job.context or {}
        return TranslateSegment(
            job_id=job.id,
            segment_index=work.index,
            target_language=job.target_language,
            source_language=job.source_language,
            model=job.model,
            credentials=job.credentials,
            mode=job.mode,  # type: ignore[arg-type]
            style=NarrativeStyle.model_validate(context.get("style") or {}),
            # Cited from the stored plan when there is one, carried otherwise.
            context=work.context or SegmentContext(),
            units=work.units or [],
            plan_key=job.plan_key if work.by_reference else None,
            digest=work.digest,
            previous_translation=previous,
        )

    async def _store_remembered(self, job: Job, index: int, translations: list[str]) -> None:
        assert job.id is not None
        text = "\n\n".join(t for t in translations if t)
        await self.jobs.store_translation(job.id, index, text, translations, job.model, cached=True)
        await self._record(
            job,
            [CallRecord(phase="translation", model=job.model, cached=True, outcome="memory")],
            index,
        )
        self.jobs.add_usage(job, TokenUsage(), translated=1)
        self._update_progress(job)

    async def _request_assembly(self, job: Job) -> None:
        assert job.id is not None
        if job.phase == JobPhase.ASSEMBLING:
            return
        rows = await self.jobs.assembly_rows(job.id)
        snapshot = {
            "document": job.document,
            "glossary": (job.context or {}).get("glossary", []),
            "segments": [
                {
                    "index": row["index"],
                    "chapter_index": row["chapter_index"],
                    "chapter_title": row["chapter_title"],
                    "source_text": row["source_text"],
                    "translated_text": row["translated_text"],
                    # Where each unit's translation goes; the unit's source text is in
                    # source_text already.
                    "units": [
                        {"pieces": unit.get("pieces", []), "translation": translation}
                        for unit, translation in zip(
                            row["units"] or [], row["unit_translations"] or [], strict=False
                        )
                    ],
                }
                for row in rows
            ],
        }
        blob = await self.deps.storage.put_bytes(
            f"jobs/{job.id}/assembly",
            json.dumps(snapshot, ensure_ascii=False).encode(),
            name="translations.json",
        )
        job.phase = JobPhase.ASSEMBLING
        job.status = JobStatus.PROCESSING
        job.status_detail = None
        await self.deps.outbox.add(
            self.session,
            AssembleJob(
                job_id=job.id,
                target_language=job.target_language,
                source_language=job.source_language,
                model=job.model,
                upload_key=job.upload_key,
                filename=job.filename,
                translations_key=blob.key,
                bilingual=job.bilingual,
                document_fingerprint=(job.document or {}).get("fingerprint", ""),
            ),
            correlation_id=f"job-{job.id}",
        )

    # -- helpers -----------------------------------------------------------------------

    async def _record(
        self, job: Job, calls: list[CallRecord], segment_index: int | None = None
    ) -> None:
        assert job.id is not None
        await self.jobs.record_calls(job.id, job.owner_id, calls, segment_index)
        if segment_index is None:  # planning calls count here; results count their own
            self.jobs.add_usage(job, usage_of(calls))

    def _update_progress(self, job: Job) -> None:
        total = max(job.total_segments or 0, 1)
        job.progress = min(99, job.translated_segments * 100 // total)

    async def _fail(self, job: Job, reason: str) -> None:
        job.status = JobStatus.FAILED
        job.error_message = reason
        job.credentials = None
        self.session.add(job)


@dataclass(frozen=True)
class _Work:
    """A segment to dispatch, from the plan just received or from its stored row. With a
    stored plan to cite (``by_reference``), its units and context are not needed here."""

    index: int
    unit_count: int
    estimated_tokens: int
    digest: str
    units: list[PlannedUnit] | None
    context: SegmentContext | None

    @property
    def by_reference(self) -> bool:
        return self.units is None

    @classmethod
    def planned(cls, segment: PlannedSegment, plan_key: str | None) -> _Work:
        cited = bool(plan_key and segment.digest)
        return cls(
            segment.index,
            len(segment.units),
            segment.estimated_tokens,
            segment.digest,
            None if cited else segment.units,
            None if cited else segment.context,
        )

    @classmethod
    def stored(cls, segment: Segment, job: Job) -> _Work:
        units = segment.units or []
        if job.plan_key and segment.digest:
            return cls(
                segment.index, len(units), segment.estimated_tokens, segment.digest, None, None
            )
        return cls(
            segment.index,
            len(units),
            segment.estimated_tokens,
            segment.digest or "",
            [PlannedUnit.model_validate(u) for u in units],
            SegmentContext.model_validate(segment.context or {}),
        )


def _fingerprint_payload(command: TranslateSegment) -> dict:
    """The inputs that decide a segment's translation (not who asked, nor with which key;
    a cited plan's units and context are named by the digest)."""
    return command.model_dump(
        mode="json",
        exclude={"job_id", "segment_index", "credentials", "fingerprint", "model", "plan_key"},
    )
