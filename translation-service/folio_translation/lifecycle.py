"""A job's life: its states, what moves it from one to the next, and nothing else.

A job's state is the pair of its public ``status`` and ``phase`` columns (clients read
both): ``PENDING/planning`` is waiting for its plan, ``PAUSED/translating`` was stopped by
the spending cap while translating, ``FAILED/assembling`` failed building its files. Every
change of either column goes through :func:`advance`, and the only changes allowed are the
rows of ``TRANSITIONS``. A new feature adds states and rows here; cancelling, resuming a
failed job and re-translating chosen segments of a finished one are each a few rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum, StrEnum

from folio.errors import Conflict
from folio_translation.models import Job, JobPhase, JobStatus


class JobState(Enum):
    """Each state is shown to clients as ``(status, phase)``."""

    PLANNING = (JobStatus.PENDING, JobPhase.PLANNING)
    PLANNING_PAUSED = (JobStatus.PAUSED, JobPhase.PLANNING)
    PLANNING_FAILED = (JobStatus.FAILED, JobPhase.PLANNING)
    TRANSLATING = (JobStatus.PROCESSING, JobPhase.TRANSLATING)
    TRANSLATION_PAUSED = (JobStatus.PAUSED, JobPhase.TRANSLATING)
    TRANSLATION_FAILED = (JobStatus.FAILED, JobPhase.TRANSLATING)
    ASSEMBLING = (JobStatus.PROCESSING, JobPhase.ASSEMBLING)
    ASSEMBLY_FAILED = (JobStatus.FAILED, JobPhase.ASSEMBLING)
    COMPLETED = (JobStatus.COMPLETED, JobPhase.DONE)
    CANCELLED = (JobStatus.CANCELLED, JobPhase.DONE)

    @property
    def status(self) -> JobStatus:
        return self.value[0]

    @property
    def phase(self) -> JobPhase:
        return self.value[1]

    @property
    def paused(self) -> bool:
        return self.status == JobStatus.PAUSED

    @property
    def failed(self) -> bool:
        return self.status == JobStatus.FAILED

    @property
    def final(self) -> bool:
        """Nothing more will happen to the job by itself (a user may still act on it)."""
        return self.status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class Trigger(StrEnum):
    """What happened to the job."""

    PLANNED = "planned"  # the worker's plan arrived and was stored
    PLANNING_CAPPED = "planning_capped"  # the analysis would pass the spending cap
    PLANNING_FAILED = "planning_failed"  # the book could not be planned
    CAP_REACHED = "cap_reached"  # the next segment would pass the spending cap
    RESUMED = "resumed"  # the user resumed a paused or failed job
    RETRANSLATE = "retranslate"  # the owner asked to re-run chosen segments of a done job
    SEGMENT_FAILED = "segment_failed"  # a segment could not be translated
    ALL_TRANSLATED = "all_translated"  # the last segment's translation is stored
    ASSEMBLED = "assembled"  # the worker built the output files
    ASSEMBLY_FAILED = "assembly_failed"  # the output files could not be built
    CANCELLED = "cancelled"  # its owner stopped it (or deleted it)


S, T = JobState, Trigger

# (state, trigger) -> next state. Anything not listed is refused.
TRANSITIONS: dict[tuple[JobState, Trigger], JobState] = {
    (S.PLANNING, T.PLANNED): S.TRANSLATING,
    (S.PLANNING, T.PLANNING_CAPPED): S.PLANNING_PAUSED,
    (S.PLANNING, T.PLANNING_FAILED): S.PLANNING_FAILED,
    (S.PLANNING_PAUSED, T.RESUMED): S.PLANNING,  # plans again
    (S.TRANSLATING, T.CAP_REACHED): S.TRANSLATION_PAUSED,
    (S.TRANSLATING, T.SEGMENT_FAILED): S.TRANSLATION_FAILED,
    (S.TRANSLATING, T.ALL_TRANSLATED): S.ASSEMBLING,
    # Segments in flight when the cap paused the job still finish (and may fail).
    (S.TRANSLATION_PAUSED, T.RESUMED): S.TRANSLATING,
    (S.TRANSLATION_PAUSED, T.SEGMENT_FAILED): S.TRANSLATION_FAILED,
    (S.TRANSLATION_PAUSED, T.ALL_TRANSLATED): S.ASSEMBLING,
    (S.ASSEMBLING, T.ASSEMBLED): S.COMPLETED,
    (S.ASSEMBLING, T.ASSEMBLY_FAILED): S.ASSEMBLY_FAILED,
    # A failed job resumes where it stopped: planned again, its failed segments sent again,
    # or (translating with nothing left to send) assembled again.
    (S.PLANNING_FAILED, T.RESUMED): S.PLANNING,
    (S.TRANSLATION_FAILED, T.RESUMED): S.TRANSLATING,
    (S.ASSEMBLY_FAILED, T.RESUMED): S.TRANSLATING,
    # Chosen segments of a finished book are translated again, then it is assembled again.
    (S.COMPLETED, T.RETRANSLATE): S.TRANSLATING,
    # Cancelling stops every active state; results still in flight are ignored.
    **{
        (state, T.CANCELLED): S.CANCELLED
        for state in (
            S.PLANNING,
            S.PLANNING_PAUSED,
            S.TRANSLATING,
            S.TRANSLATION_PAUSED,
            S.ASSEMBLING,
        )
    },
}
del S, T


class TransitionRefused(Conflict):
    def __init__(self, state: JobState, trigger: Trigger) -> None:
        super().__init__(f"The job is {state.status} ({state.phase}): {trigger!s} does not apply.")
        self.state = state
        self.trigger = trigger


def state_of(job: Job) -> JobState:
    return state_from(job.status, job.phase)


def state_from(status: str, phase: str) -> JobState:
    return JobState((JobStatus(status), JobPhase(phase)))


def allows(job: Job, trigger: Trigger) -> bool:
    return (state_of(job), trigger) in TRANSITIONS


def advance(job: Job, trigger: Trigger, reason: str | None = None) -> JobState:
    """Move the job on (or raise :class:`TransitionRefused`).

    ``reason`` says why a job paused or failed; clients read it in ``status_detail`` or
    ``error_message``. Entering a final state erases the job's provider keys: nothing
    needs them any more.
    """
    state = state_of(job)
    target = TRANSITIONS.get((state, trigger))
    if target is None:
        raise TransitionRefused(state, trigger)
    job.status, job.phase = target.status, target.phase
    job.status_detail = reason if target.paused or target is JobState.CANCELLED else None
    if target.failed:
        job.error_message = reason
    elif state.failed:  # resumed: the old failure no longer describes the job
        job.error_message = None
    if target.final:
        job.credentials = None
    if target is JobState.COMPLETED:
        # When the files now served were finished: every completion sets it, a re-translated
        # book's included (the upstream sets it whenever the job becomes COMPLETED).
        job.progress = 100
        job.completed_at = datetime.now(UTC)
    elif state is JobState.COMPLETED:
        job.completed_at = None  # translated again: complete once its files are rebuilt
    job.updated_at = datetime.now(UTC)
    return target


def initial_state() -> JobState:
    return JobState.PLANNING
