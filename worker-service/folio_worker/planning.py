"""``PlanJob``: parse the book, segment it, analyse it, estimate it, store the plan."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from folio.contracts import (
    CallRecord,
    CostEstimate,
    DocumentInfo,
    Event,
    JobContext,
    JobPlan,
    JobPlanned,
    JobPlanningFailed,
    JobPlanningPaused,
    NarrativeStyle,
    PhaseEstimate,
    PlanJob,
    SpendLimits,
)
from folio.contracts.providers import ProviderConfig
from folio.messaging import Delivery
from folio.storage import StorageError
from folio_worker.books import document_fingerprint, read_book
from folio_worker.clients import CredentialsUnavailable
from folio_worker.control import WorkCancelled
from folio_worker.deps import WorkerDeps
from folio_worker.engine import call_plan, estimate, sizing
from folio_worker.engine.analysis import AnalysisFailed, analyse_book, chunk_units
from folio_worker.engine.call_plan import CallSizes
from folio_worker.engine.calls import CallCollector, current_collector
from folio_worker.engine.context import inflects
from folio_worker.engine.documents import Document, DocumentError
from folio_worker.engine.labels import translate_labels
from folio_worker.engine.languages import (
    detect_language,
    script_of,
    script_profile,
    text_script,
)
from folio_worker.engine.prompts import analysis_prompt
from folio_worker.engine.segmentation import plan_segments
from folio_worker.llm import LLMDeferred, LLMError
from folio_worker.llm.errors import CallsStopped, SpendRefused
from folio_worker.llm.providers import expected_thinking_tokens
from folio_worker.outcomes import (
    defer_or_reason,
    gave_up,
    last_attempt,
    publish_outcome,
)
from folio_worker.segment_plans import PlanIndexes, build_segment_plans

log = logging.getLogger(__name__)


class Planner:
    def __init__(self, deps: WorkerDeps) -> None:
        self.deps = deps
        self.settings = deps.settings

    async def plan_job(self, command: PlanJob, delivery: Delivery) -> Event | None:
        control = self.deps.control
        if await control.is_cancelled(command.job_id):
            return None  # cancelled before planning started: nothing to do, nothing spent
        limits = command.spend or SpendLimits(
            max_tokens=command.max_tokens, spent_tokens=command.spent_tokens
        )
        collector = self.deps.collector("analysis", command.job_id, limits)
        token = current_collector.set(collector)
        event: JobPlanned | JobPlanningPaused | JobPlanningFailed
        try:
            async with control.running(command.job_id):
                event = await self._plan(command, collector)
        except SpendRefused as exc:  # the next call would pass a limit: nothing beyond it
            event = JobPlanningPaused(
                job_id=command.job_id, reason=exc.reason, max_tokens=exc.max_tokens
            )
        except LLMDeferred as exc:  # the key is not usable for long: re-queued, or failed
            reason = defer_or_reason(exc, delivery, collector, self.settings.llm_max_deferred_s)
            event = JobPlanningFailed(job_id=command.job_id, reason=reason, calls=collector.records)
        except (
            DocumentError,
            StorageError,
            AnalysisFailed,
            CredentialsUnavailable,
            LLMError,
            CallsStopped,
            WorkCancelled,
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
        await publish_outcome(self.deps.publisher, event, delivery, "plan-result")
        if isinstance(event, JobPlanned) and event.plan_key:
            self._prepare_calls(command, event.plan_key)
        if not isinstance(event, JobPlanningPaused):  # the others carry their calls
            await collector.reported()
        return event

    def _prepare_calls(self, command: PlanJob, plan_key: str) -> None:
        """Hash the planned translation prompts' cache keys now, while translation-service
        turns ``JobPlanned`` into segment commands: when they come back to this replica
        (with the plan and its prompts in memory), their calls start at once."""
        try:
            caller = self.deps.clients.caller(
                command.model, command.credentials, scope=command.reuse_scope
            )
        except CredentialsUnavailable:
            return
        caller.prepare(self.deps.plans.planned_prompts(plan_key))

    def _config(self, command: PlanJob) -> ProviderConfig | None:
        try:
            return self.deps.clients.config_for(command.model, command.credentials)
        except CredentialsUnavailable:
            return None

    def _call_sizes(
        self,
        command: PlanJob,
        document: Document,
        book_text: str,
        source_language: str | None,
        config: ProviderConfig | None,
    ) -> CallSizes:
        """Few large calls when requests per minute bind; otherwise units sized for the
        book and the key's concurrency (``sizing.parallel_unit``); a unit never larger than
        the model can take and give back."""
        s = self.settings
        own = (config.max_concurrency if config else None) or s.llm_max_concurrency_per_key
        concurrency = min(own, s.llm_max_concurrency_per_key)
        analysed = command.mode != "turbo"
        scripts = sizing.Scripts(
            source=text_script(script_profile(book_text)) or "latin",
            target=script_of(command.target_language),
        )
        window = sizing.model_window(config)
        prefix = estimate.prefix_tokens(
            target_language=command.target_language,
            source_language=source_language,
            style=command.style,
            glossary=command.glossary,
            terms_guess=call_plan.terms_guess(len(book_text)),
            analysed=analysed,
        )
        chapters: dict[int, list[int]] = {}
        for block in document.blocks:
            chapters.setdefault(block.chapter, []).append(len(block.text))
        small = sizing.parallel_unit(
            list(chapters.values()),
            # Strict mode runs its units one after the other, but in the units default
            # mode would use: it differs only by the translation carried between them.
            concurrency=concurrency,
            unit_concurrency=s.unit_concurrency,
            segment_size=command.segment_size,
            window=window,
            scripts=scripts,
            prefix_tokens=prefix,
            override=s.unit_size,
        )
        return call_plan.choose(
            len(book_text),
            small=small,
            large=sizing.largest_unit(
                segment_size=command.segment_size, window=window, scripts=scripts
            ),
            chunk_size=s.analysis_chunk_size,
            analysed=analysed,
            rpm=config.requests_per_minute if config is not None else None,
            concurrency=concurrency,
            # the rendering batches run under the analysis' bound as well as the key's
            rendering_concurrency=min(concurrency, s.analysis_concurrency),
            sequential=command.mode == "strict",
            prefix_tokens=prefix,
        )

    def _thinking(self, command: PlanJob) -> Callable[[int], int]:
        """Thinking tokens to expect beside an answer of n output tokens (the job's
        provider and thinking settings; Gemini 2.5 budgets, 3.x levels)."""
        try:
            config = self.deps.clients.config_for(command.model, command.credentials)
        except CredentialsUnavailable:
            return lambda _: 0
        return lambda output: expected_thinking_tokens(config, output)

    async def _plan(
        self, command: PlanJob, collector: CallCollector
    ) -> JobPlanned | JobPlanningPaused:
        _, document = await read_book(
            self.deps.storage, self.deps.documents, command.upload_key, command.filename
        )
        book_text = document.text()
        source_language = command.source_language or document.language or detect_language(book_text)
        config = self._config(command)
        sizes = self._call_sizes(command, document, book_text, source_language, config)
        segments = plan_segments(
            document.blocks, segment_size=command.segment_size, unit_size=sizes.unit_size
        )
        units = [unit for segment in segments for unit in segment.units]

        indexes = PlanIndexes(segments, inflecting=inflects(source_language))
        if command.mode == "turbo":
            context = JobContext(
                style=command.style or NarrativeStyle(), glossary=list(command.glossary)
            )
            deviations: dict[int, str] = {}
        else:
            chunks = chunk_units(units, sizes.chunk_size)
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
                terms_guess=call_plan.terms_guess(len(book_text)),
                terms_per_batch=sizes.terms_per_batch,
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
                    max_tokens=command.max_tokens,
                )
            caller = self.deps.clients.caller(
                command.analysis_model or command.model,
                command.credentials,
                scope=command.reuse_scope,
            )
            result = await analyse_book(
                units,
                caller=caller,
                target_language=command.target_language,
                source_language=source_language,
                chunk_size=sizes.chunk_size,
                batching=sizes.batching,
                concurrency=self.settings.analysis_concurrency,
                user_style=command.style,
                user_glossary=command.glossary,
                glossary_mode=command.glossary_mode,
                while_rendering=indexes.prepare,
            )
            context, deviations = result.context, result.deviations
            if result.terms_per_batch:  # the estimate shows the size the terms got
                sizes = dataclasses.replace(sizes, terms_per_batch=result.terms_per_batch)
        labels: dict[str, str] = {}
        if document.nav_labels:
            warnings = list(context.warnings)
            labels = await translate_labels(
                document.nav_labels,
                caller=self.deps.clients.caller(
                    command.model, command.credentials, scope=command.reuse_scope
                ),
                target_language=command.target_language,
                source_language=source_language,
                glossary=context.glossary,
                warnings=warnings,
            )
            context = context.model_copy(update={"warnings": warnings})
        analysis_spent = _spent(collector.records)  # the labels' call included

        planned = build_segment_plans(
            command,
            document,
            segments,
            context,
            deviations,
            source_language,
            indexes,
            thinking=self._thinking(command),
        )
        plan_key = await self.deps.plans.save(
            JobPlan(job_id=command.job_id, segments=planned.plans, context=context, labels=labels),
            planned.prompts,
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
            segments=planned.segments,
            estimate=CostEstimate(
                analysis=analysis_spent,
                translation=planned.estimate,
                plan=sizes.public(config.requests_per_minute if config else None),
            ),
            calls=collector.records,
            plan_key=plan_key,
        )


def _spent(records: Sequence[CallRecord]) -> PhaseEstimate:
    live = [r for r in records if not r.cached]
    return PhaseEstimate(
        calls=len(live),
        input_tokens=sum(r.input_tokens for r in live),
        output_tokens=sum(r.output_tokens + r.thinking_tokens for r in live),
    )
