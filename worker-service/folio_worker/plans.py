"""A job's plan, stored once: every segment's units and context.

Segment commands then refer to the plan instead of carrying the segment's text and context,
so the text does not pass through translation-service's database, outbox and the broker
again on its way back to a worker. The replica that planned the job usually translates it
too and keeps recent plans in memory; any other replica reads the plan from storage.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from pydantic import BaseModel, Field

from folio.contracts import PlannedUnit, SegmentContext, TranslateSegment
from folio.storage import BlobStorage

KEPT_IN_MEMORY = 32  # plans of recent jobs


class PlanEntry(BaseModel):
    units: list[PlannedUnit]
    context: SegmentContext


class StoredPlan(BaseModel):
    segments: dict[int, PlanEntry] = Field(default_factory=dict)


def digest(entry: PlanEntry) -> str:
    """Names a segment's units and context (its translation depends on nothing else of the
    plan). Recomputed from the stored plan, it must come out the same."""
    return hashlib.sha256(entry.model_dump_json().encode()).hexdigest()


class PlanUnavailable(Exception):
    pass


class PlanStore:
    def __init__(self, storage: BlobStorage) -> None:
        self.storage = storage
        self._recent: OrderedDict[str, StoredPlan] = OrderedDict()

    async def save(self, job_id: int, plan: StoredPlan) -> str:
        blob = await self.storage.put_bytes(
            f"jobs/{job_id}/plan", plan.model_dump_json().encode(), name="plan.json"
        )
        self._remember(blob.key, plan)
        return blob.key

    async def complete(self, command: TranslateSegment) -> TranslateSegment:
        """The command with its units and context, read from the plan it refers to."""
        if not command.plan_key or command.units:
            return command
        plan = self._recent.get(command.plan_key)
        if plan is None:
            try:
                data = await self.storage.read_bytes(command.plan_key)
            except Exception as exc:
                raise PlanUnavailable("the job's plan is no longer available") from exc
            plan = StoredPlan.model_validate_json(data)
            self._remember(command.plan_key, plan)
        else:
            self._recent.move_to_end(command.plan_key)
        entry = plan.segments.get(command.segment_index)
        if entry is None or (command.digest and digest(entry) != command.digest):
            raise PlanUnavailable("the job's plan does not match this segment")
        return command.model_copy(update={"units": entry.units, "context": entry.context})

    def _remember(self, key: str, plan: StoredPlan) -> None:
        self._recent[key] = plan
        while len(self._recent) > KEPT_IN_MEMORY:
            self._recent.popitem(last=False)
