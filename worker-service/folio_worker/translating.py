"""``TranslateSegment``: translate one segment from its part of the stored plan."""

from __future__ import annotations

from folio.contracts import (
    Event,
    SegmentPaused,
    SegmentTranslated,
    SegmentTranslationFailed,
    TranslateSegment,
)
from folio.messaging import Delivery
from folio_worker.clients import CredentialsUnavailable
from folio_worker.control import WorkCancelled
from folio_worker.deps import WorkerDeps
from folio_worker.engine.calls import current_collector
from folio_worker.engine.documents.placeholders import strip
from folio_worker.engine.translator import SegmentTranslator
from folio_worker.engine.work import SegmentWork
from folio_worker.llm import LLMDeferred, LLMError
from folio_worker.llm.errors import CallsStopped, SpendRefused
from folio_worker.outcomes import (
    defer_or_reason,
    gave_up,
    last_attempt,
    publish_outcome,
)
from folio_worker.plans import PlanUnavailable


class SegmentWorker:
    def __init__(self, deps: WorkerDeps) -> None:
        self.deps = deps
        self.settings = deps.settings

    async def translate_segment(
        self, command: TranslateSegment, delivery: Delivery
    ) -> Event | None:
        control = self.deps.control
        if await control.is_cancelled(command.job_id):
            return None  # the job was cancelled: its queued work is dropped, nothing is spent
        collector = self.deps.collector(
            "translation", command.job_id, command.spend, command.segment_index
        )
        token = current_collector.set(collector)
        try:
            async with control.running(command.job_id):
                plans = self.deps.plans
                work = SegmentWork.of(
                    command, await plans.segment(command), await plans.book(command)
                )
                planned = plans.prompts(command, work) if command.mode != "strict" else None
                caller = self.deps.clients.caller(
                    command.model,
                    command.credentials,
                    scope=command.reuse_scope,
                    reuse=not command.refresh,
                )
                translator = SegmentTranslator(
                    caller,
                    attempts=self.settings.answer_attempts,
                    concurrency=self.settings.unit_concurrency,
                    planned=planned,
                )
                result = await translator.translate(work)
            event: SegmentTranslated | SegmentTranslationFailed | SegmentPaused = SegmentTranslated(
                job_id=command.job_id,
                segment_index=command.segment_index,
                translated_text=strip("\n\n".join(t for t in result.translations if t)),
                unit_translations=result.translations,
                model=caller.model,
                calls=collector.records,
                fingerprint=command.fingerprint,
                unit_failures=result.failures,
                warnings=translator.warnings,
            )
            purpose = "translated"
        except LLMDeferred as exc:  # the key is not usable for long: re-queued, or failed
            reason = defer_or_reason(exc, delivery, collector, self.settings.llm_max_deferred_s)
            event = SegmentTranslationFailed(
                job_id=command.job_id,
                segment_index=command.segment_index,
                reason=reason,
                calls=collector.records,
            )
            purpose = "translation-failed"
        except SpendRefused as exc:  # the next call would pass a limit: nothing beyond it
            event = SegmentPaused(
                job_id=command.job_id,
                segment_index=command.segment_index,
                reason=exc.reason,
                calls=collector.records,
                max_tokens=exc.max_tokens,
            )
            purpose = "paused"
        except (
            CallsStopped,
            LLMError,
            CredentialsUnavailable,
            PlanUnavailable,
            WorkCancelled,
        ) as exc:
            # A cancelled segment still reports the calls it made: they were paid for.
            event = SegmentTranslationFailed(
                job_id=command.job_id,
                segment_index=command.segment_index,
                reason=getattr(exc, "reason", None) or str(exc),
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
        await publish_outcome(self.deps.publisher, event, delivery, purpose)
        await collector.reported()
        return event
