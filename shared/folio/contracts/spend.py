"""What a job may spend, and what its calls cost, as the worker reports them.

Spending is checked by the worker before every model call (retries, splits and the
analysis included), against the job's cap and, on the deployment's own key, the user's
daily allowance. Every call is reported once under its own ``call_id``, as soon as it is
answered, so no broker outage, worker crash or redone command loses or doubles it.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from folio.contracts.base import Event
from folio.contracts.engine import CallRecord


class DailyQuota(BaseModel):
    """A user's tokens per day on the deployment's own key (an operator setting)."""

    model_config = ConfigDict(frozen=True)

    # An opaque id of the user (a hash): the worker needs to count, not to know who.
    holder: str = Field(min_length=8, max_length=64)
    tokens_per_day: int = Field(gt=0)


class SpendLimits(BaseModel):
    """The limits a job command's model calls must stay within."""

    model_config = ConfigDict(frozen=True)

    max_tokens: int | None = Field(default=None, gt=0)  # the job's spending cap
    spent_tokens: int = Field(default=0, ge=0)  # what the job had spent when this was sent
    quota: DailyQuota | None = None


class CallsRecorded(Event):
    """Model calls a worker made for a job, reported as they are answered; each call once
    (``call_id``), whatever happens to the command that made them."""

    TYPE: ClassVar[str] = "translation.calls.recorded.v1"

    job_id: int
    segment_index: int | None = None
    calls: list[CallRecord] = Field(default_factory=list, max_length=512)


class AnalysisCallsRecorded(Event):
    """Model calls a worker made for a signed-in caller's analysis without a job
    (``/analysis/*``), reported by its usage journal: the reply carries them too, but a
    worker killed mid-analysis, or an analysis past its deadline, sends no reply (and a
    reply is not durable). Each call once (``call_id``), whichever report comes first.

    Its own event rather than a ``CallsRecorded`` with no job: a job's calls add to the
    job's totals, these to nobody's but the caller's (and ``job_id`` stays required)."""

    TYPE: ClassVar[str] = "analysis.calls.recorded.v1"

    owner_id: str = Field(min_length=1, max_length=255)
    # On the deployment's own key: counted against the owner's daily allowance.
    allowance: bool = False
    calls: list[CallRecord] = Field(default_factory=list, max_length=512)


class SegmentPaused(Event):
    """A segment stopped before a call that would pass the job's cap or the user's daily
    allowance: nothing beyond it was spent; the segment waits for the job's resumption."""

    TYPE: ClassVar[str] = "translation.segment.paused.v1"

    job_id: int
    segment_index: int
    reason: str
    calls: list[CallRecord] = Field(default_factory=list)
    # The cap the call was refused under (None: the daily allowance refused it). A command
    # sent before the job's cap was raised may be refused after the raise: that refusal
    # is out of date, and the segment is simply sent again under the raised cap.
    max_tokens: int | None = Field(default=None, gt=0)
