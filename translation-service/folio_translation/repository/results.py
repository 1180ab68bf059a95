"""A translated segment's result, stored in one statement.

Unlike the other repositories this one writes several tables at once, on purpose: every
result event runs it, and each round trip more is paid nine times at the end of a book,
while the job's results serialise on its row. The statement (data-modifying CTEs, one
snapshot) stores the translation if the segment is not translated yet and then, only in
that case, remembers the work, stores the calls not stored before, counts the segment
and the new calls on the job row (locked last, until the commit) with its numbered
``segment`` event, and stages the usage events, which the caller built for all the
calls without knowing the owner (the statement fills it in): they are inserted only if
every call was new (the usual case), otherwise the caller stages the right ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import CallRecord, SegmentTranslated
from folio.contracts.usage import usage_category
from folio_translation.models import SegmentStatus

# A prepared statement: no expression built and cache-keyed per result.
_STORE_RESULT = text(
    """
    WITH stored AS (
        UPDATE segments SET
            translated_text = CAST(:text AS text),
            unit_translations = CAST(:units AS jsonb),
            status = CAST(:translated AS varchar),
            model = CAST(:model AS varchar),
            cached = false,
            error = NULL,
            failures = CAST(:failures AS jsonb),
            warnings = CAST(:warnings AS jsonb),
            translated_at = CAST(:at AS timestamptz)
        FROM jobs
        WHERE segments.job_id = CAST(:job AS bigint) AND segments.index = CAST(:idx AS integer)
            AND segments.status <> CAST(:translated AS varchar) AND jobs.id = segments.job_id
        RETURNING jobs.owner_id, jobs.credentials IS NULL AS allowance
    ),
    remembered AS (
        INSERT INTO translation_memory (fingerprint, model, unit_translations, hits)
        SELECT CAST(:fingerprint AS varchar), CAST(:model AS varchar), CAST(:units AS jsonb), 0
        FROM stored
        WHERE CAST(:remember AS boolean)
        ON CONFLICT (fingerprint) DO NOTHING
    ),
    calls AS (
        INSERT INTO usage_records (
            job_id, owner_id, segment_index, phase, category, model, key_id, input_tokens,
            output_tokens, thinking_tokens, cached_input_tokens, call_id, latency_ms, outcome,
            cached, estimated, allowance
        )
        SELECT CAST(:job AS bigint), stored.owner_id, CAST(:idx AS integer), c.phase,
            c.category, c.model, c.key_id, c.input_tokens, c.output_tokens, c.thinking_tokens,
            c.cached_input_tokens, c.call_id, c.latency_ms, c.outcome, c.cached, c.estimated,
            stored.allowance
        FROM stored, jsonb_to_recordset(CAST(:calls AS jsonb)) AS c(
            phase text, category text, model text, key_id text, input_tokens integer,
            output_tokens integer, thinking_tokens integer, cached_input_tokens integer,
            call_id text, latency_ms double precision, outcome text, cached boolean,
            estimated boolean
        )
        ON CONFLICT (call_id) DO NOTHING
        RETURNING call_id, input_tokens, output_tokens, thinking_tokens, cached_input_tokens,
            cached, estimated
    ),
    cost AS (
        SELECT
            count(*) AS new_calls,
            count(*) FILTER (WHERE NOT cached) AS billed,
            coalesce(sum(input_tokens) FILTER (WHERE NOT cached), 0) AS input_tokens,
            coalesce(sum(output_tokens) FILTER (WHERE NOT cached), 0) AS output_tokens,
            coalesce(sum(thinking_tokens) FILTER (WHERE NOT cached), 0) AS thinking_tokens,
            coalesce(sum(cached_input_tokens) FILTER (WHERE NOT cached), 0)
                AS cached_input_tokens,
            coalesce(sum(input_tokens + output_tokens + thinking_tokens)
                FILTER (WHERE estimated AND NOT cached), 0) AS estimated_tokens,
            array_remove(array_agg(call_id), NULL) AS call_ids
        FROM calls
    ),
    counted AS (
        UPDATE jobs SET
            translated_segments = jobs.translated_segments + 1,
            input_tokens = jobs.input_tokens + cost.input_tokens,
            output_tokens = jobs.output_tokens + cost.output_tokens,
            thinking_tokens = jobs.thinking_tokens + cost.thinking_tokens,
            cached_input_tokens = jobs.cached_input_tokens + cost.cached_input_tokens,
            estimated_tokens = jobs.estimated_tokens + cost.estimated_tokens,
            llm_calls = jobs.llm_calls + cost.billed,
            progress = least(
                99, (jobs.translated_segments + 1) * 100 / greatest(jobs.total_segments, 1)
            ),
            event_seq = jobs.event_seq + 1,
            updated_at = CAST(:at AS timestamptz)
        FROM cost
        WHERE jobs.id = CAST(:job AS bigint) AND EXISTS (SELECT 1 FROM stored)
        RETURNING jobs.id, jobs.event_seq, jobs.translated_segments, jobs.total_segments,
            jobs.progress,
            EXISTS (
                SELECT 1 FROM segments
                WHERE segments.job_id = CAST(:job AS bigint)
                    AND segments.status = CAST(:pending AS varchar)
            ) AS waiting
    ),
    recorded AS (
        INSERT INTO job_events (job_id, seq, kind, data)
        SELECT id, event_seq, 'segment', jsonb_build_object(
            'segment_index', CAST(:idx AS integer),
            'translated_segments', translated_segments,
            'total_segments', total_segments,
            'progress', progress,
            'failed_units', CAST(:failed_units AS integer)
        )
        FROM counted
    ),
    published AS (
        INSERT INTO outbox (message_id, message_type, exchange, routing_key, envelope, headers)
        SELECT m.message_id, m.message_type, m.exchange, m.routing_key,
            jsonb_set(m.envelope, '{data,user_id}', to_jsonb(stored.owner_id)), m.headers
        FROM stored, jsonb_to_recordset(CAST(:messages AS jsonb)) AS m(
            message_id uuid, message_type text, exchange text, routing_key text,
            envelope jsonb, headers jsonb
        )
        WHERE EXISTS (SELECT 1 FROM counted)
            AND (SELECT new_calls FROM cost) = CAST(:call_count AS integer)
    )
    SELECT stored.owner_id, stored.allowance, cost.new_calls, cost.call_ids,
        counted.translated_segments, counted.total_segments, counted.waiting
    FROM stored CROSS JOIN cost LEFT JOIN counted ON true
    """
)


@dataclass(frozen=True)
class StoredResult:
    owner_id: str
    allowance: bool  # on the deployment's own key: counted against the daily allowance
    new_calls: list[CallRecord]  # the calls not stored before
    published: bool  # the usage events passed in were staged (every call was new)
    translated: int
    total: int
    waiting: bool  # segments still pending dispatch


class ResultRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def store_translated(
        self,
        event: SegmentTranslated,
        *,
        remember: bool,
        messages: list[dict[str, Any]],
        at: datetime,
    ) -> StoredResult | None:
        """Store the result (see the module); None if the segment was already stored (or
        there is no such job): then nothing was written. ``messages``: outbox rows of the
        usage events of all the event's calls, their ``user_id`` left to the statement."""
        result = await self.session.execute(
            _STORE_RESULT,
            {
                "job": event.job_id,
                "idx": event.segment_index,
                "text": event.translated_text,
                "units": json.dumps(event.unit_translations, ensure_ascii=False),
                "model": event.model,
                "translated": SegmentStatus.TRANSLATED.value,
                "pending": SegmentStatus.PENDING.value,
                # SQL NULL when there are none (not JSON null).
                "failures": _json_or_null([f.model_dump(mode="json") for f in event.unit_failures]),
                "warnings": _json_or_null(list(event.warnings)),
                "at": at,
                "remember": remember,
                "fingerprint": event.fingerprint,
                "calls": json.dumps(
                    [
                        {
                            **call.model_dump(
                                mode="json",
                                include={
                                    "phase",
                                    "model",
                                    "key_id",
                                    "input_tokens",
                                    "output_tokens",
                                    "thinking_tokens",
                                    "cached_input_tokens",
                                    "call_id",
                                    "latency_ms",
                                    "outcome",
                                    "cached",
                                    "estimated",
                                },
                            ),
                            "category": usage_category(call.phase),
                        }
                        for call in event.calls
                    ],
                    ensure_ascii=False,
                ),
                "call_count": len(event.calls),
                "failed_units": len(event.unit_failures),
                "messages": json.dumps(messages, ensure_ascii=False, default=str),
            },
        )
        row = result.first()
        if row is None:
            return None
        owner_id, allowance, new_count, call_ids, translated, total, waiting = row
        stored_ids = set(call_ids or ())
        new = [c for c in event.calls if c.call_id is None or c.call_id in stored_ids]
        return StoredResult(
            owner_id=owner_id,
            allowance=bool(allowance),
            new_calls=new,
            published=new_count == len(event.calls),
            translated=translated or 0,
            total=total or 0,
            waiting=bool(waiting),
        )


def _json_or_null(value: list) -> str | None:
    return json.dumps(value, ensure_ascii=False) if value else None
