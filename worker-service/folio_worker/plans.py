"""A job's plan (``folio.contracts.plan.JobPlan``), stored once and read back by key.

Segment commands cite the plan instead of carrying each segment's text and context, so the
text does not pass through translation-service's database, outbox and the broker again on
its way back to a worker. The replica that planned the job usually translates it too and
keeps recent plans in memory; any other replica reads the plan from storage.
"""

from __future__ import annotations

from collections import OrderedDict

from folio.contracts import JobPlan, SegmentPlan, TranslateSegment
from folio.storage import BlobStorage

KEPT_IN_MEMORY = 32  # plans of recent jobs


class PlanUnavailable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PlanStore:
    def __init__(self, storage: BlobStorage) -> None:
        self.storage = storage
        self._recent: OrderedDict[str, JobPlan] = OrderedDict()

    async def save(self, plan: JobPlan) -> str:
        blob = await self.storage.put_bytes(
            f"jobs/{plan.job_id}/plan", plan.dump(), name="plan.json"
        )
        self._remember(blob.key, plan)
        return blob.key

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
        """The part of the plan the command cites, if it is the one the command names."""
        plan = await self.load(command.plan_key)
        entry = plan.segments.get(command.segment_index)
        if entry is None or plan.job_id != command.job_id or entry.digest() != command.digest:
            raise PlanUnavailable("the job's plan does not match this segment")
        return entry

    def _remember(self, key: str, plan: JobPlan) -> None:
        self._recent[key] = plan
        while len(self._recent) > KEPT_IN_MEMORY:
            self._recent.popitem(last=False)
