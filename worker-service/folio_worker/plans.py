"""A job's plan (``folio.contracts.plan.JobPlan``), stored once and read back by key.

Segment commands cite the plan instead of carrying each segment's text and context, so the
text does not pass through translation-service's database, outbox and the broker again on
its way back to a worker. The replica that planned the job usually translates it too and
keeps recent plans in memory; any other replica reads the plan from storage.
"""

from __future__ import annotations

from collections import OrderedDict

from folio.contracts import (
    Character,
    GlossaryEntry,
    JobGlossary,
    JobPlan,
    SegmentPlan,
    TranslateSegment,
)
from folio.storage import BlobStorage
from folio_worker.engine.context import glossary_for
from folio_worker.engine.work import SegmentWork
from folio_worker.segment_plans import PreparedPrompts

KEPT_IN_MEMORY = 32  # plans of recent jobs
PROMPTS_KEPT = 4  # the planned prompts of the most recent plans (most of a megabyte each)


class PlanUnavailable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PlanStore:
    def __init__(self, storage: BlobStorage) -> None:
        self.storage = storage
        self._recent: OrderedDict[str, JobPlan] = OrderedDict()
        self._glossaries: OrderedDict[str, JobGlossary] = OrderedDict()
        self._prompts: OrderedDict[str, dict[int, PreparedPrompts]] = OrderedDict()

    async def save(self, plan: JobPlan, prompts: dict[int, PreparedPrompts] | None = None) -> str:
        """Stores the plan; keeps it, and the prompts its estimate was made of, in memory."""
        blob = await self.storage.put_bytes(
            f"jobs/{plan.job_id}/plan", plan.dump(), name="plan.json"
        )
        self._remember(blob.key, plan)
        if prompts:
            self._prompts[blob.key] = prompts
            while len(self._prompts) > PROMPTS_KEPT:
                self._prompts.popitem(last=False)
        return blob.key

    def planned_prompts(self, plan_key: str) -> list[str]:
        """Every prompt kept for the plan, segment by segment."""
        kept = self._prompts.get(plan_key, {})
        return [
            prompt for _, segment in sorted(kept.items()) for prompt in segment.by_unit.values()
        ]

    def prompts(self, command: TranslateSegment, work: SegmentWork) -> dict[int, str]:
        """The first prompt of each of the segment's units (by unit index) as this process
        planned them, if ``work`` is the work they were planned for (the same settings,
        units, context and glossary: not after a glossary edit, not in another replica)."""
        prepared = self._prompts.get(command.plan_key, {}).get(command.segment_index)
        if prepared is None or prepared.work != work:
            return {}
        return prepared.by_unit

    async def load(self, key: str) -> JobPlan:
        plan = self._recent.get(key)
        if plan is not None:
            self._recent.move_to_end(key)
            return plan
        try:
            plan = JobPlan.load(await self.storage.read_bytes(key))
        except Exception as exc:  # missing, unreadable or not a plan of this version
            raise PlanUnavailable("the job's plan is no longer available") from exc
        self._remember(key, plan)
        return plan

    async def segment(self, command: TranslateSegment) -> SegmentPlan:
        """The part of the plan the command cites, if it is the one the command names;
        with the terms of the edited glossary when the command cites one."""
        plan = await self.load(command.plan_key)
        entry = plan.segments.get(command.segment_index)
        if entry is None or plan.job_id != command.job_id or entry.digest() != command.digest:
            raise PlanUnavailable("the job's plan does not match this segment")
        if command.glossary_key:
            glossary = await self.glossary(command)
            text = "\n\n".join(unit.text for unit in entry.units)
            context = entry.context.model_copy(
                update={"glossary": glossary_for(text, glossary.entries)}
            )
            entry = entry.model_copy(update={"context": context})
        return entry

    async def book(self, command: TranslateSegment) -> tuple[list[GlossaryEntry], list[Character]]:
        """The book's glossary (the edited one when the command cites it) and characters:
        what every translation prompt of the job starts with."""
        plan = await self.load(command.plan_key)
        if plan.context is None:  # a plan stored before books' contexts were kept
            entry = plan.segments.get(command.segment_index)
            context = entry.context if entry is not None else None
            glossary = list(context.glossary) if context else []
            characters = list(context.characters) if context else []
        else:
            glossary, characters = list(plan.context.glossary), list(plan.context.characters)
        if command.glossary_key:
            glossary = list((await self.glossary(command)).entries)
        return glossary, characters

    async def glossary(self, command: TranslateSegment) -> JobGlossary:
        """The edited glossary the command cites (kept with the recent plans)."""
        key = command.glossary_key or ""
        glossary = self._glossaries.get(key)
        if glossary is None:
            try:
                glossary = JobGlossary.load(await self.storage.read_bytes(key))
            except Exception as exc:
                raise PlanUnavailable("the job's edited glossary is no longer available") from exc
            self._glossaries[key] = glossary
            while len(self._glossaries) > KEPT_IN_MEMORY:
                self._glossaries.popitem(last=False)
        if glossary.job_id != command.job_id or glossary.digest() != command.glossary_digest:
            raise PlanUnavailable("the job's edited glossary does not match this segment")
        return glossary

    def _remember(self, key: str, plan: JobPlan) -> None:
        self._recent[key] = plan
        while len(self._recent) > KEPT_IN_MEMORY:
            self._recent.popitem(last=False)
