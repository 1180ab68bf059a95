"""What the worker does for each command.

Results leave as events whose ids derive from the command's id, so a redelivered command
yields a duplicate that translation-service's inbox ignores; model answers are cached, so
redoing the work costs no calls either.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence

from folio.contracts import (
    AssembleJob,
    CallRecord,
    CostEstimate,
    DocumentInfo,
    GlossaryEntry,
    JobAssembled,
    JobAssemblyFailed,
    JobContext,
    JobPlanned,
    JobPlanningFailed,
    JobPlanningPaused,
    NarrativeStyle,
    PhaseEstimate,
    PlanJob,
    PlannedSegment,
    PlannedUnit,
    SegmentContext,
    SegmentTranslated,
    SegmentTranslationFailed,
    TranslateSegment,
    UnitPiece,
)
from folio.messaging import Defer, Delivery, Publisher, derived_message_id
from folio.messaging.topology import DEFAULT_DELIVERY_LIMIT
from folio.storage import BlobStorage, StorageError
from folio_worker.clients import ClientFactory, CredentialsUnavailable
from folio_worker.engine import estimate
from folio_worker.engine.analysis import AnalysisFailed, analyse_book, chunk_units
from folio_worker.engine.calls import CallCollector, current_collector
from folio_worker.engine.checks import split_paragraphs
from folio_worker.engine.context import TextIndex, characters_for, glossary_for, head, tail
from folio_worker.engine.documents import Document, DocumentError
from folio_worker.engine.isolation import DocumentProcessor
from folio_worker.engine.languages import code_of, detect_language, word_joiner
from folio_worker.engine.prompts import analysis_prompt
from folio_worker.engine.segmentation import Segment, Unit, plan_segments
from folio_worker.engine.translator import (
    PREVIOUS_TRANSLATION,
    SegmentTranslator,
    UnitFailed,
    build_prompt,
    unit_requests,
)
from folio_worker.llm import LLMDeferred, LLMError
from folio_worker.llm.providers import expected_thinking_tokens
from folio_worker.plans import PlanEntry, PlanStore, PlanUnavailable, StoredPlan, digest
from folio_worker.settings import WorkerSettings

log = logging.getLogger(__name__)
SEGMENT_NEIGHBOUR = 600


def last_attempt(delivery: Delivery) -> bool:
    """Whether this is the last delivery the queue allows before dead-lettering."""
    return delivery.delivery_count + 1 >= DEFAULT_DELIVERY_LIMIT


def carried_calls(delivery: Delivery) -> list[CallRecord]:
    """Calls made before this command was deferred: billed, so still to be recorded."""
    calls = (delivery.carried or {}).get("calls") or []
    return [CallRecord.model_validate(c) for c in calls if isinstance(c, dict)]


def defer_or_reason(
    exc: LLMDeferred, delivery: Delivery, collector: CallCollector, budget_s: float
) -> str:
    """Raise ``Defer`` (carrying the calls made so far) while the command may still wait;
    past ``budget_s`` of waiting in all, the reason it fails instead."""
    if delivery.deferred_s + exc.retry_after_s <= budget_s:
        calls = [c.model_dump(mode="json") for c in collector.records]
        raise Defer(exc.retry_after_s, exc.reason, carry={"calls": calls}) from exc
    hours = delivery.deferred_s / 3600
    return f"The model provider kept this waiting for {hours:.1f} hours ({exc.reason})."


def gave_up(what: str, exc: Exception) -> str:
    """The job's failure reason after an unexpected error on every delivery. The error's
    text stays in the logs (it may hold anything); the job gets its kind only."""
    log.error("%s failed on its last delivery", what, exc_info=exc)
    return (
        f"An internal error stopped {what} ({type(exc).__name__}) after "
        f"{DEFAULT_DELIVERY_LIMIT} attempts."
    )


class PlanIndexes:
    """Word indexes of every segment and unit of a plan, built once: for the segments'
    contexts and the cost estimate. ``prepare`` builds them (and learns where the given
    terms occur) ahead of time, in a thread, while the model renders the glossary."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self._segments = segments
        self._by_segment: dict[int, TextIndex] = {}
        self._by_unit: dict[int, TextIndex] = {}

    def segment(self, i: int) -> TextIndex:
        index = self._by_segment.get(i)
        if index is None:
            index = self._by_segment[i] = TextIndex(self._segments[i].text)
        return index

    def unit(self, segment: int, unit: int) -> TextIndex:
        index = self._by_unit.get(unit)
        if index is None:
            text = next(u.text for u in self._segments[segment].units if u.index == unit)
            index = self._by_unit[unit] = TextIndex(text)
        return index

    def prepare(self, terms: list[str]) -> None:
        for i, segment in enumerate(self._segments):
            found = [t for t in terms if self.segment(i).contains(t)]
            for unit in segment.units:
                # Hand the interpreter back often: the event loop must not wait for this
                # thread to send the model's requests or read its answers.
                time.sleep(0)
                index = self.unit(i, unit.index)
                for term in found:
                    index.contains(term)


def document_fingerprint(document: Document) -> str:
    digest = hashlib.sha256()
    for block in document.blocks:
        digest.update(block.text.encode())
        digest.update(b"\0")
    return digest.hexdigest()


class WorkerService:
    def __init__(
        self,
        settings: WorkerSettings,
        storage: BlobStorage,
        publisher: Publisher,
        clients: ClientFactory,
        documents: DocumentProcessor,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.publisher = publisher
        self.clients = clients
        self.documents = documents
        self.plans = PlanStore(storage)

    # -- plan ------------------------------------------------------------------------

    async def plan_job(self, command: PlanJob, delivery: Delivery) -> None:
        collector = CallCollector(phase="analysis", records=carried_calls(delivery))
        token = current_collector.set(collector)
        try:
            event = await self._plan(command, collector)
        except LLMDeferred as exc:
            reason = defer_or_reason(exc, delivery, collector, self.settings.llm_max_deferred_s)
            event = JobPlanningFailed(job_id=command.job_id, reason=reason, calls=collector.records)
        except (
            DocumentError,
            StorageError,
            AnalysisFailed,
            CredentialsUnavailable,
            LLMError,
        ) as exc:
            reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
            log.info("job %s: planning failed: %s", command.job_id, reason)
            event = JobPlanningFailed(job_id=command.job_id, reason=reason, calls=collector.records)
        except Exception as exc:
            if not last_attempt(delivery):
                raise  # perhaps transient: the broker redelivers it
            event = JobPlanningFailed(
                job_id=command.job_id, reason=gave_up("planning", exc), calls=collector.records
            )
        finally:
            current_collector.reset(token)
        await self.publisher.publish(
            event,
            message_id=derived_message_id(delivery.envelope.message_id, "plan-result"),
            correlation_id=delivery.envelope.correlation_id,
        )

    async def _plan(
        self, command: PlanJob, collector: CallCollector
    ) -> JobPlanned | JobPlanningPaused:
        try:
            data = await self.storage.read_bytes(command.upload_key)
        except StorageError as exc:
            raise DocumentError("The uploaded file is no longer available.") from exc
        document = await self.documents.parse(data, command.filename)
        unit_size = min(self.settings.unit_size, command.segment_size)
        segments = plan_segments(
            document.blocks, segment_size=command.segment_size, unit_size=unit_size
        )
        units = [unit for segment in segments for unit in segment.units]
        book_text = document.text()
        source_language = command.source_language or document.language or detect_language(book_text)

        indexes = PlanIndexes(segments)
        analysis_spent = PhaseEstimate()
        if command.mode == "turbo":
            context = JobContext(
                style=command.style or NarrativeStyle(), glossary=list(command.glossary)
            )
            deviations: dict[int, str] = {}
        else:
            chunks = chunk_units(units, self.settings.analysis_chunk_size)
            thinking = self._thinking(command)
            guess = estimate.analysis(
                [
                    analysis_prompt(
                        text=c.text,
                        target_language=command.target_language,
                        source_language=source_language,
                    )
                    for c in chunks
                ],
                terms_guess=min(400, len(book_text) // 1500),
            )
            per_chunk = thinking(estimate.ANALYSIS_OUTPUT_TOKENS)
            guess = guess.model_copy(
                update={"output_tokens": guess.output_tokens + len(chunks) * per_chunk}
            )
            if command.max_tokens is not None and (
                command.spent_tokens + guess.total_tokens > command.max_tokens
            ):
                return JobPlanningPaused(
                    job_id=command.job_id,
                    reason=(
                        f"Paused before the analysis: it needs about {guess.total_tokens} "
                        f"tokens and the spending cap is {command.max_tokens} "
                        f"({command.spent_tokens} already spent). Raise max_tokens and "
                        "resume the job."
                    ),
                    estimate=CostEstimate(analysis=guess),
                )
            caller = self.clients.caller(command.model, command.credentials)
            result = await analyse_book(
                units,
                caller=caller,
                target_language=command.target_language,
                source_language=source_language,
                chunk_size=self.settings.analysis_chunk_size,
                concurrency=self.settings.analysis_concurrency,
                user_style=command.style,
                user_glossary=command.glossary,
                glossary_mode=command.glossary_mode,
                while_rendering=indexes.prepare,
            )
            context, deviations = result.context, result.deviations
            analysis_spent = _spent(collector.records)

        planned, translation_estimate = self._planned_segments(
            command, document, segments, context, deviations, source_language, indexes
        )
        plan_key = await self.plans.save(
            command.job_id,
            StoredPlan(
                segments={p.index: PlanEntry(units=p.units, context=p.context) for p in planned}
            ),
        )
        return JobPlanned(
            job_id=command.job_id,
            source_language=source_language,
            document=DocumentInfo(
                format=document.format,
                title=document.title,
                authors=list(document.authors),
                chapters=[c.title for c in document.chapters],
                characters=len(book_text),
                fingerprint=document_fingerprint(document),
            ),
            context=context,
            segments=planned,
            estimate=CostEstimate(analysis=analysis_spent, translation=translation_estimate),
            calls=collector.records,
            plan_key=plan_key,
        )

    def _planned_segments(
        self,
        command: PlanJob,
        document: Document,
        segments: Sequence[Segment],
        context: JobContext,
        deviations: dict[int, str],
        source_language: str | None,
        indexes: PlanIndexes,
    ) -> tuple[list[PlannedSegment], PhaseEstimate]:
        total = PhaseEstimate()
        planned = []
        thinking = self._thinking(command)
        for i, segment in enumerate(segments):
            text = segment.text
            index = indexes.segment(i)
            segment_context = SegmentContext(
                glossary=glossary_for(text, context.glossary, index),
                characters=characters_for(text, context.characters, index),
                deviations={
                    u.index: deviations[u.index] for u in segment.units if u.index in deviations
                },
                previous_source=tail(segments[i - 1].text, SEGMENT_NEIGHBOUR) if i > 0 else "",
                next_source=head(segments[i + 1].text, SEGMENT_NEIGHBOUR)
                if i + 1 < len(segments)
                else "",
            )
            units = [_planned_unit(u) for u in segment.units]
            probe = TranslateSegment(
                job_id=command.job_id,
                segment_index=i,
                target_language=command.target_language,
                source_language=source_language,
                model=command.model,
                mode=command.mode,
                style=context.style,
                context=segment_context,
                units=units,
            )
            cost = PhaseEstimate()
            for request in unit_requests(probe):
                unit_index = indexes.unit(i, request.unit.index)
                prompt = build_prompt(probe, request, request.unit.text, index=unit_index)
                if command.mode == "strict":
                    prompt += "x" * PREVIOUS_TRANSLATION * 3  # the chained translation's bytes
                call = estimate.translation_call(prompt, request.unit.text, command.target_language)
                call = call.model_copy(
                    update={"output_tokens": call.output_tokens + thinking(call.output_tokens)}
                )
                cost = estimate.add(cost, call)
            total = estimate.add(total, cost)
            chapter = (
                document.chapters[segment.chapter]
                if segment.chapter < len(document.chapters)
                else None
            )
            planned.append(
                PlannedSegment(
                    index=i,
                    source_text=text,
                    chapter_index=segment.chapter,
                    chapter_title=chapter.title if chapter else None,
                    units=units,
                    context=segment_context,
                    estimated_tokens=cost.total_tokens,
                    digest=digest(PlanEntry(units=units, context=segment_context)),
                )
            )
        return planned, total

    def _thinking(self, command: PlanJob) -> Callable[[int], int]:
        """Thinking tokens to expect beside an answer of n output tokens (the job's
        provider and thinking settings; Gemini 2.5 budgets, 3.x levels)."""
        try:
            config = self.clients.config_for(command.model, command.credentials)
        except CredentialsUnavailable:
            return lambda _: 0
        return lambda output: expected_thinking_tokens(config, output)

    # -- translate -------------------------------------------------------------------

    async def translate_segment(self, command: TranslateSegment, delivery: Delivery) -> None:
        collector = CallCollector(phase="translation", records=carried_calls(delivery))
        token = current_collector.set(collector)
        cause = delivery.envelope.message_id
        try:
            command = await self.plans.complete(command)
            caller = self.clients.caller(command.model, command.credentials)
            translator = SegmentTranslator(
                caller,
                attempts=self.settings.answer_attempts,
                concurrency=self.settings.unit_concurrency,
            )
            translations = await translator.translate(command)
            event: SegmentTranslated | SegmentTranslationFailed = SegmentTranslated(
                job_id=command.job_id,
                segment_index=command.segment_index,
                translated_text="\n\n".join(t for t in translations if t),
                unit_translations=translations,
                model=caller.model,
                calls=collector.records,
                fingerprint=command.fingerprint,
            )
            purpose = "translated"
        except LLMDeferred as exc:
            reason = defer_or_reason(exc, delivery, collector, self.settings.llm_max_deferred_s)
            event = SegmentTranslationFailed(
                job_id=command.job_id,
                segment_index=command.segment_index,
                reason=reason,
                calls=collector.records,
            )
            purpose = "translation-failed"
        except (UnitFailed, LLMError, CredentialsUnavailable, PlanUnavailable) as exc:
            reason = getattr(exc, "reason", None) or str(exc)
            event = SegmentTranslationFailed(
                job_id=command.job_id,
                segment_index=command.segment_index,
                reason=reason,
                calls=collector.records,
            )
            purpose = "translation-failed"
        except Exception as exc:
            if not last_attempt(delivery):
                raise
            event = SegmentTranslationFailed(
                job_id=command.job_id,
                segment_index=command.segment_index,
                reason=gave_up("translating this segment", exc),
                calls=collector.records,
            )
            purpose = "translation-failed"
        finally:
            current_collector.reset(token)
        await self.publisher.publish(
            event,
            message_id=derived_message_id(cause, purpose),
            correlation_id=delivery.envelope.correlation_id,
        )

    # -- assemble --------------------------------------------------------------------

    async def assemble_job(self, command: AssembleJob, delivery: Delivery) -> None:
        try:
            outputs = await self._assemble(command)
            event: JobAssembled | JobAssemblyFailed = JobAssembled(
                job_id=command.job_id, outputs=outputs
            )
        except (DocumentError, StorageError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or str(exc)
            event = JobAssemblyFailed(job_id=command.job_id, reason=reason)
        except Exception as exc:
            if not last_attempt(delivery):
                raise
            event = JobAssemblyFailed(job_id=command.job_id, reason=gave_up("assembling", exc))
        await self.publisher.publish(
            event,
            message_id=derived_message_id(delivery.envelope.message_id, "assembled"),
            correlation_id=delivery.envelope.correlation_id,
        )

    async def _assemble(self, command: AssembleJob) -> dict[str, str]:
        snapshot = json.loads(await self.storage.read_bytes(command.translations_key))
        original = await self.storage.read_bytes(command.upload_key)
        document = await self.documents.parse(original, command.filename)
        if (
            command.document_fingerprint
            and document_fingerprint(document) != command.document_fingerprint
        ):
            raise ValueError("the book no longer reads as it did when it was planned")
        translations = block_translations(
            snapshot["segments"],
            joiner=word_joiner(command.target_language),
        )
        files = await self.documents.build(
            original,
            document,
            translations,
            target_language=code_of(command.target_language),
            bilingual=command.bilingual,
        )
        files["segments"] = json.dumps(
            [
                {
                    "segment_index": s["index"],
                    "chapter_index": s.get("chapter_index"),
                    "chapter_title": s.get("chapter_title"),
                    "source_text": s["source_text"],
                    "translated_text": s.get("translated_text"),
                }
                for s in snapshot["segments"]
            ],
            ensure_ascii=False,
            indent=1,
        ).encode()
        glossary = [GlossaryEntry.model_validate(g) for g in snapshot.get("glossary") or []]
        files["glossary"] = json.dumps(
            {g.term: g.translation for g in glossary}, ensure_ascii=False, indent=1
        ).encode()
        names = {
            "txt": "translated.txt",
            "bilingual_txt": "bilingual.txt",
            "epub": "translated.epub",
            "bilingual_epub": "bilingual.epub",
            "segments": "segments.json",
            "glossary": "glossary.json",
        }
        stored = {}
        for kind, content in files.items():
            blob = await self.storage.put_bytes(
                f"jobs/{command.job_id}/output", content, name=names[kind]
            )
            stored[kind] = blob.key
        return stored


def block_translations(segments: Sequence[dict], *, joiner: str) -> dict[int, str]:
    """Per-block translations from the per-unit ones (paragraph-aligned when possible)."""
    parts: dict[int, list[str]] = defaultdict(list)
    for segment in segments:
        for unit in segment.get("units") or []:
            translation = unit.get("translation")
            if translation is None:
                continue
            blocks: list[int] = []
            for piece in unit["pieces"]:
                if not blocks or blocks[-1] != piece["block"]:
                    blocks.append(piece["block"])
            paragraphs = split_paragraphs(translation)
            if len(paragraphs) == len(blocks):
                for block, paragraph in zip(blocks, paragraphs, strict=True):
                    parts[block].append(paragraph)
            else:  # the model merged or split paragraphs: keep all the text, in order
                parts[blocks[0]].append("\n".join(paragraphs))
                for block in blocks[1:]:
                    parts[block].append("")
    return {block: joiner.join(p for p in texts if p) for block, texts in parts.items()}


def _planned_unit(unit: Unit) -> PlannedUnit:
    return PlannedUnit(
        index=unit.index,
        text=unit.text,
        pieces=[UnitPiece(block=p.block, part=p.part, parts=p.parts) for p in unit.pieces],
    )


def _spent(records: Sequence[CallRecord]) -> PhaseEstimate:
    live = [r for r in records if not r.cached]
    return PhaseEstimate(
        calls=len(live),
        input_tokens=sum(r.input_tokens for r in live),
        output_tokens=sum(r.output_tokens + r.thinking_tokens for r in live),
    )
