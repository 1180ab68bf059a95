"""What the worker does for each command. Results leave as events with ids derived from
the command's id, so a redelivered command yields a duplicate the consumer ignores."""

from __future__ import annotations

import logging

from folio.contracts import (
    JobPlanned,
    JobPlanningFailed,
    PlanJob,
    PlannedSegment,
    SegmentTranslated,
    SegmentTranslationFailed,
    TranslateSegment,
)
from folio.messaging import Delivery, Publisher, derived_message_id
from folio.storage import BlobStorage, StorageError
from folio_worker.engine.languages import language_name
from folio_worker.engine.prompts import translation_prompt
from folio_worker.engine.segmentation import segment_text
from folio_worker.llm import LLMError, OpenAICompatibleClient

log = logging.getLogger(__name__)


class WorkerService:
    def __init__(
        self, storage: BlobStorage, publisher: Publisher, llm: OpenAICompatibleClient
    ) -> None:
        self.storage = storage
        self.publisher = publisher
        self.llm = llm

    async def plan_job(self, command: PlanJob, delivery: Delivery) -> None:
        cause = delivery.envelope.message_id
        correlation = delivery.envelope.correlation_id
        try:
            raw = await self.storage.read_bytes(command.upload_key)
            text = raw.decode("utf-8-sig")
        except (StorageError, UnicodeDecodeError) as exc:
            await self.publisher.publish(
                JobPlanningFailed(job_id=command.job_id, reason=f"Cannot read the book: {exc}"),
                message_id=derived_message_id(cause, "planning-failed"),
                correlation_id=correlation,
            )
            return
        segments = [
            PlannedSegment(index=i, source_text=s)
            for i, s in enumerate(segment_text(text, command.segment_size))
        ]
        await self.publisher.publish(
            JobPlanned(job_id=command.job_id, segments=segments),
            message_id=derived_message_id(cause, "planned"),
            correlation_id=correlation,
        )

    async def translate_segment(self, command: TranslateSegment, delivery: Delivery) -> None:
        cause = delivery.envelope.message_id
        correlation = delivery.envelope.correlation_id
        prompt = translation_prompt(command.source_text, language_name(command.target_language))
        try:
            completion = await self.llm.complete(prompt)
        except LLMError as exc:
            await self.publisher.publish(
                SegmentTranslationFailed(
                    job_id=command.job_id, segment_index=command.segment_index, reason=str(exc)
                ),
                message_id=derived_message_id(cause, "translation-failed"),
                correlation_id=correlation,
            )
            return
        await self.publisher.publish(
            SegmentTranslated(
                job_id=command.job_id,
                segment_index=command.segment_index,
                translated_text=completion.text.strip(),
                model=completion.model,
                usage=completion.usage,
            ),
            message_id=derived_message_id(cause, "translated"),
            correlation_id=correlation,
        )
