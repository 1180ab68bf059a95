"""Which segments go to the worker next.

At most ``dispatch_window`` segments of a job are in flight at once (one, in strict
continuity mode, each with the end of the previous translation). A segment whose work is
in the translation memory is stored without a model call and takes no room in the window.
A segment whose estimate would pass the spending cap pauses the job instead. Commands cite
the worker's stored plan (its key and the segment's digest); they never carry the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import NarrativeStyle, PlannedSegment, TranslateSegment
from folio.contracts.engine import fingerprint
from folio_translation import lifecycle
from folio_translation.lifecycle import JobState, Trigger
from folio_translation.models import Job, Segment, SegmentStatus
from folio_translation.repository import MemoryRepository, SegmentRepository
from folio_translation.service.assembly import request_assembly
from folio_translation.service.deps import JobDeps
from folio_translation.service.task_tracking import send_work
from folio_translation.service.usage import UsageLedger, spend_limits, spent_tokens

# Strict continuity hands each segment the end of the previous segment's translation.
PREVIOUS_TRANSLATION_CHARS = 1500


@dataclass(frozen=True)
class _Work:
    """A segment to dispatch, from the plan just received or from its stored row."""

    index: int
    unit_count: int
    estimated_tokens: int
    digest: str
    # Asked again although it was translated without a marked unit: its owner wants a new
    # translation, so neither the memory nor the cached answers are reused. (A segment
    # with marked units reuses its good units' answers: only the marked ones are paid.)
    refresh: bool = False
    longest_unit_chars: int = 0  # known from the plan just received, else 0

    @classmethod
    def planned(cls, segment: PlannedSegment) -> _Work:
        return cls(
            segment.index,
            segment.unit_count,
            segment.estimated_tokens,
            segment.digest,
            longest_unit_chars=segment.longest_unit_chars,
        )

    @classmethod
    def stored(cls, segment: Segment) -> _Work:
        return cls(
            segment.index,
            segment.unit_count,
            segment.estimated_tokens,
            segment.digest or "",
            refresh=segment.translated_text is not None and not segment.failures,
        )


class Dispatcher:
    def __init__(self, session: AsyncSession, deps: JobDeps) -> None:
        self.session = session
        self.deps = deps
        self.segments = SegmentRepository(session)
        self.memory = MemoryRepository(session)
        self.usage = UsageLedger(session, deps.outbox)

    async def advance(self, job: Job, fresh: Sequence[PlannedSegment] | None = None) -> None:
        """Dispatch what the window, the mode and the cap allow; assemble when all are in.

        The caller holds the job row lock, so concurrent results serialise here.
        ``fresh`` is the plan just stored (every segment pending), when there is one.
        """
        state = lifecycle.state_of(job)
        if state not in (JobState.TRANSLATING, JobState.TRANSLATION_PAUSED):
            return
        assert job.id is not None
        if fresh is not None:
            states = [(p.index, SegmentStatus.PENDING, p.estimated_tokens) for p in fresh]
        else:
            states = await self.segments.states(job.id)
        status = {index: segment_state for index, segment_state, _ in states}
        if state is JobState.TRANSLATING:
            if job.mode == "strict":
                await self._advance_strict(job, states, status)
            else:
                status.update(await self._advance_window(job, states, fresh))
        if all(s == SegmentStatus.TRANSLATED for s in status.values()):
            await request_assembly(self.session, self.deps, job)

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
        spent = spent_tokens(job)
        reserved = sum(in_flight)
        queue = [_Work.planned(p) for p in fresh] if fresh is not None else None
        if queue is None and not any(state == SegmentStatus.PENDING for _, state, _ in states):
            return served  # nothing left to claim (read under the job's lock)
        while room > 0:
            if queue is not None:
                batch, queue = queue[:room], queue[room:]
            else:
                batch = [_Work.stored(s) for s in await self.segments.claim_pending(job.id, room)]
            if not batch:
                break
            commands = [self._command(job, work, "") for work in batch]
            remembered = await self.memory.lookup([c.fingerprint for c in commands])
            dispatch: list[TranslateSegment] = []
            capped = False
            # The segment whose longest unit is longest goes first: the worker starts its
            # calls in the order the commands arrive, and the call with the longest answer
            # ends the window last if it starts late (the cap still sees book order).
            longest = {work.index: work.longest_unit_chars for work in batch}
            for work, command in zip(batch, commands, strict=True):
                memo = None if work.refresh else remembered.get(command.fingerprint)
                if memo is not None and len(memo) == work.unit_count:
                    await self._store_remembered(job, work.index, memo)
                    served[work.index] = SegmentStatus.TRANSLATED
                    continue
                if _over_cap(job, spent + reserved + work.estimated_tokens):
                    self._pause_for_cap(job, spent, reserved, work)
                    capped = True
                    break
                dispatch.append(command)
                reserved += work.estimated_tokens
            dispatch.sort(key=lambda c: longest[c.segment_index], reverse=True)
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
        spent = spent_tokens(job)
        for index, state, _ in states:
            if state != SegmentStatus.PENDING:
                continue
            if index > 0 and status.get(index - 1) != SegmentStatus.TRANSLATED:
                return
            previous = (
                (await self.segments.translated_text_of(job.id, index - 1))[
                    -PREVIOUS_TRANSLATION_CHARS:
                ]
                if index > 0
                else ""
            )
            (segment,) = await self.segments.by_index(job.id, [index])
            work = _Work.stored(segment)
            command = self._command(job, work, previous)
            memo = (
                None
                if work.refresh
                else (await self.memory.lookup([command.fingerprint])).get(command.fingerprint)
            )
            if memo is not None and len(memo) == work.unit_count:
                await self._store_remembered(job, index, memo)
                status[index] = SegmentStatus.TRANSLATED
                continue
            if _over_cap(job, spent + work.estimated_tokens):
                self._pause_for_cap(job, spent, 0, work)
                return
            await self._dispatch(job, [command])
            return

    async def _dispatch(self, job: Job, commands: list[TranslateSegment]) -> None:
        assert job.id is not None
        if not commands:
            return
        await send_work(self.session, self.deps, job, commands)
        await self.segments.mark_dispatched(
            job.id, {c.segment_index: c.fingerprint for c in commands}
        )

    def _pause_for_cap(self, job: Job, spent: int, reserved: int, work: _Work) -> None:
        lifecycle.advance(
            job,
            Trigger.CAP_REACHED,
            f"Paused: the spending cap of {job.max_tokens} tokens would be exceeded "
            f"({spent} spent, {reserved} reserved by segments in progress, about "
            f"{work.estimated_tokens} needed for segment {work.index}). "
            "Raise max_tokens and resume the job.",
        )

    def _command(self, job: Job, work: _Work, previous: str) -> TranslateSegment:
        assert job.id is not None and job.plan_key is not None
        command = TranslateSegment(
            job_id=job.id,
            segment_index=work.index,
            target_language=job.target_language,
            source_language=job.source_language,
            model=job.model,
            credentials=job.credentials,
            mode=job.mode,  # type: ignore[arg-type]
            style=NarrativeStyle.model_validate((job.context or {}).get("style") or {}),
            plan_key=job.plan_key,
            digest=work.digest,
            previous_translation=previous,
            glossary_key=job.glossary_key,
            glossary_digest=job.glossary_digest,
            spend=spend_limits(job, self.deps.daily_tokens),
            reuse_scope=job.reuse_scope or "",
            refresh=work.refresh,
        )
        return command.model_copy(
            update={"fingerprint": fingerprint(_fingerprint_payload(command), model=job.model)}
        )

    async def _store_remembered(self, job: Job, index: int, translations: list[str]) -> None:
        assert job.id is not None
        text = "\n\n".join(t for t in translations if t)
        await self.segments.store_translation(
            job.id, index, text, translations, job.model, cached=True
        )
        await self.usage.remembered(job, index)


def _over_cap(job: Job, tokens: int) -> bool:
    return job.max_tokens is not None and tokens > job.max_tokens


def _fingerprint_payload(command: TranslateSegment) -> dict:
    """The inputs that decide a segment's translation: not who asked, nor with which key,
    nor where the plan is stored (the digest names the segment's units and context)."""
    unedited = {"glossary_digest"} if command.glossary_digest is None else set()
    return command.model_dump(
        mode="json",
        exclude=unedited
        | {
            "job_id",
            "segment_index",
            "credentials",
            "fingerprint",
            "model",
            "plan_key",
            "glossary_key",  # its digest stays: another glossary is another translation
            "spend",  # limits on spending, not inputs of the translation
            "refresh",
        },
    )
