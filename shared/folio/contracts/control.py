"""What translation-service tells every worker about a job's work as a whole."""

from __future__ import annotations

from typing import ClassVar

from folio.contracts.base import Event


class JobCancelled(Event):
    """The job was cancelled (or deleted): drop its queued work, end its calls in flight.

    Workers keep the job's id for a while so commands still queued for it are dropped too.
    """

    TYPE: ClassVar[str] = "translation.job.cancelled.v1"

    job_id: int
    deleted: bool = False
