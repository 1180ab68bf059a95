"""What a job's model calls cost, and for whom: one usage row per call (the upstream's
``translation_usage_logs``, with its category), the job's totals (which the spending cap
compares against), and a ``UsageRecorded`` event per model and phase of each batch of calls,
through the outbox, for user-service's token-usage dashboard. Answers served from a cache
or the translation memory are recorded but cost nothing (and are not published)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import CallRecord, DailyQuota, SpendLimits, TokenUsage, UsageRecorded
from folio.contracts.engine import usage_of
from folio.contracts.usage import usage_category
from folio.errors import QuotaExceeded
from folio.messaging import Outbox
from folio_translation.models import Job
from folio_translation.repository import JobRepository, UsageRepository


def spent_tokens(job: Job) -> int:
    return job.input_tokens + job.output_tokens + job.thinking_tokens


def daily_quota(owner_id: str, daily_tokens: int | None) -> DailyQuota | None:
    """The owner's daily allowance on the deployment's own key, as the worker counts it
    (under an opaque id, never the user's)."""
    if not daily_tokens:
        return None
    holder = hashlib.sha256(f"folio-quota:{owner_id}".encode()).hexdigest()[:32]
    return DailyQuota(holder=holder, tokens_per_day=daily_tokens)


def spend_limits(job: Job, daily_tokens: int | None) -> SpendLimits:
    """What the worker checks before each of the job's calls: its cap and, on the
    deployment's own key, the owner's daily allowance."""
    quota = daily_quota(job.owner_id, daily_tokens) if job.credentials is None else None
    return SpendLimits(max_tokens=job.max_tokens, spent_tokens=spent_tokens(job), quota=quota)


def allowance_renewal(now: datetime | None = None) -> tuple[datetime, int]:
    """When the daily allowance renews (the next 00:00 UTC, as the worker's ledger counts
    days), and in how many seconds."""
    now = now or datetime.now(UTC)
    renews = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return renews, max(1, int((renews - now).total_seconds()))


async def refuse_if_allowance_spent(
    session: AsyncSession, owner_id: str, daily_tokens: int | None, now: datetime | None = None
) -> None:
    """Work on the deployment's own key is refused up front (429) once the owner's daily
    allowance is used up, rather than accepted and then paused at its first call.

    What was spent comes from the usage rows recorded here (the record of what the
    provider billed, kept for good), not from the worker's ledger (a per-call
    enforcement cache in Redis that expires, and a worker's internals): one home for
    the data. Calls in flight are not in the rows yet; the worker still checks each call.
    """
    if not daily_tokens:
        return
    now = now or datetime.now(UTC)
    renews, wait = allowance_renewal(now)
    used = await UsageRepository(session).allowance_spent(owner_id, renews - timedelta(days=1))
    left = max(0, daily_tokens - used)
    if left > 0:
        return
    raise QuotaExceeded(
        f"Your daily allowance of {daily_tokens} tokens on this service's own model is used "
        f"up ({used} used today, {left} left). It renews at 00:00 UTC "
        f"({renews.isoformat().replace('+00:00', 'Z')}, in {wait // 3600} h "
        f"{wait % 3600 // 60} min): try again then, or bring your own API key.",
        headers={"Retry-After": str(wait)},
        daily_tokens=daily_tokens,
        used_tokens=used,
        remaining_tokens=left,
        resets_at=renews.isoformat().replace("+00:00", "Z"),
    )


def usage_events(
    job_id: int | None, owner_id: str, calls: Sequence[CallRecord]
) -> list[UsageRecorded]:
    """One event per (model, phase) of the billed calls."""
    groups: dict[tuple[str, str], list[CallRecord]] = {}
    for call in calls:
        if not call.cached:
            groups.setdefault((call.model, call.phase), []).append(call)
    now = datetime.now(UTC)
    return [
        UsageRecorded(
            usage_id=str(uuid.uuid4()),
            user_id=owner_id,
            job_id=job_id,
            model=model,
            category=usage_category(phase),
            phase=phase,
            calls=len(group),
            input_tokens=sum(c.input_tokens for c in group),
            # As providers bill them: reasoning tokens are output tokens.
            output_tokens=sum(c.output_tokens + c.thinking_tokens for c in group),
            thinking_tokens=sum(c.thinking_tokens for c in group),
            cached_input_tokens=sum(c.cached_input_tokens for c in group),
            recorded_at=now,
        )
        for (model, phase), group in groups.items()
    ]


class UsageLedger:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.records = UsageRepository(session)
        self.jobs = JobRepository(session)

    async def _record(
        self,
        job_id: int | None,
        owner_id: str | None,
        calls: Sequence[CallRecord],
        segment_index: int | None,
        allowance: bool,
    ) -> list[CallRecord]:
        """Store the calls not stored yet and publish them; returns those (the others
        were reported before: by the usage journal, a result, or a redone command). An
        analysis without a job has no job id; calls of a job since deleted, no owner.
        ``allowance``: on the deployment's own key (counted against the daily allowance)."""
        new = await self.records.record_calls(
            job_id, owner_id, calls, segment_index, allowance=allowance
        )
        if owner_id is not None:
            await self.publish(job_id, owner_id, new)
        return new

    async def publish(self, job_id: int | None, owner_id: str, calls: Sequence[CallRecord]) -> None:
        """Stage the usage events of these (newly stored) calls."""
        await self.outbox.add_many(
            self.session,
            list(usage_events(job_id, owner_id, calls)),
            correlation_id=f"job-{job_id}" if job_id is not None else None,
        )

    def unowned_event_rows(self, job_id: int, calls: Sequence[CallRecord]) -> list[dict]:
        """Outbox rows of the usage events of these calls, for a statement that stores
        them and fills in the owner (``ResultRepository``); then :meth:`staged`."""
        events = usage_events(job_id, "", calls)
        return self.outbox.rows(list(events), correlation_id=f"job-{job_id}") if events else []

    def staged(self) -> None:
        """Usage events were inserted by a statement of the caller's: wake the relay."""
        self.outbox.staged(self.session)

    async def charge(
        self, job: Job, calls: Sequence[CallRecord], segment_index: int | None = None
    ) -> None:
        """Record the calls and add the new ones to the job's totals (the caller holds its
        lock)."""
        assert job.id is not None
        new = await self._record(
            job.id, job.owner_id, calls, segment_index, job.credentials is None
        )
        JobRepository.add_usage(job, usage_of(new))

    async def reported(
        self, job_id: int, calls: Sequence[CallRecord], segment_index: int | None
    ) -> None:
        """Calls reported apart from a result (the worker's journal, a duplicate result):
        stored once and added to the job's totals in one statement, without its lock."""
        owner = await self.jobs.owner_of(job_id)
        owner_id, allowance = owner if owner is not None else (None, False)
        new = await self._record(
            job_id if owner_id is not None else None, owner_id, calls, segment_index, allowance
        )
        if owner_id is not None:
            await self.jobs.add_usage_atomically(job_id, usage_of(new))

    async def remembered(self, job: Job, segment_index: int) -> None:
        """A segment served from the translation memory: one free call, one more done."""
        assert job.id is not None
        call = CallRecord(phase="translation", model=job.model, cached=True, outcome="memory")
        await self.records.record_calls(job.id, job.owner_id, [call], segment_index)
        JobRepository.add_usage(job, TokenUsage(), translated=1)
        job.progress = min(99, job.translated_segments * 100 // max(job.total_segments or 0, 1))
        self.jobs.record_segment_event(job, segment_index)

    async def record_analysis(
        self, owner_id: str, calls: Sequence[CallRecord], *, allowance: bool
    ) -> None:
        """An analysis without a job (``/analysis/*``): the caller's, with no job."""
        await self._record(None, owner_id, calls, None, allowance)
