"""The job state machine: the allowed transitions, the refused ones, what entering a state
does. Pure: no database."""

from __future__ import annotations

import itertools

import pytest

from folio.errors import Conflict, status_of
from folio_translation import lifecycle
from folio_translation.lifecycle import TRANSITIONS, JobState, TransitionRefused, Trigger
from folio_translation.models import Job, JobPhase, JobStatus


def job_in(state: JobState) -> Job:
    return Job(
        id=1,
        owner_id="u",
        filename="b.txt",
        upload_key="uploads/x",
        upload_size=1,
        upload_sha256="0" * 64,
        status=state.status,
        phase=state.phase,
        credentials="sealed",
    )


ALLOWED = [
    (JobState.PLANNING, Trigger.PLANNED, JobState.TRANSLATING),
    (JobState.PLANNING, Trigger.PLANNING_CAPPED, JobState.PLANNING_PAUSED),
    (JobState.PLANNING, Trigger.PLANNING_FAILED, JobState.PLANNING_FAILED),
    (JobState.PLANNING_PAUSED, Trigger.RESUMED, JobState.PLANNING),
    (JobState.TRANSLATING, Trigger.CAP_REACHED, JobState.TRANSLATION_PAUSED),
    (JobState.TRANSLATING, Trigger.SEGMENT_FAILED, JobState.TRANSLATION_FAILED),
    (JobState.TRANSLATING, Trigger.ALL_TRANSLATED, JobState.ASSEMBLING),
    (JobState.TRANSLATION_PAUSED, Trigger.RESUMED, JobState.TRANSLATING),
    (JobState.TRANSLATION_PAUSED, Trigger.SEGMENT_FAILED, JobState.TRANSLATION_FAILED),
    (JobState.TRANSLATION_PAUSED, Trigger.ALL_TRANSLATED, JobState.ASSEMBLING),
    (JobState.ASSEMBLING, Trigger.ASSEMBLED, JobState.COMPLETED),
    (JobState.ASSEMBLING, Trigger.ASSEMBLY_FAILED, JobState.ASSEMBLY_FAILED),
    (JobState.PLANNING_FAILED, Trigger.RESUMED, JobState.PLANNING),
    (JobState.TRANSLATION_FAILED, Trigger.RESUMED, JobState.TRANSLATING),
    (JobState.ASSEMBLY_FAILED, Trigger.RESUMED, JobState.TRANSLATING),
    (JobState.COMPLETED, Trigger.RETRANSLATE, JobState.TRANSLATING),
    *(
        (state, Trigger.CANCELLED, JobState.CANCELLED)
        for state in (
            JobState.PLANNING,
            JobState.PLANNING_PAUSED,
            JobState.TRANSLATING,
            JobState.TRANSLATION_PAUSED,
            JobState.ASSEMBLING,
        )
    ),
]


@pytest.mark.parametrize(("state", "trigger", "target"), ALLOWED)
def test_allowed_transitions(state: JobState, trigger: Trigger, target: JobState) -> None:
    job = job_in(state)
    assert lifecycle.allows(job, trigger)
    assert lifecycle.advance(job, trigger, "why") is target
    assert (job.status, job.phase) == (target.status, target.phase)
    assert lifecycle.state_of(job) is target


def test_the_table_is_exactly_the_allowed_transitions() -> None:
    assert TRANSITIONS == {(s, t): target for s, t, target in ALLOWED}


REFUSED = [
    (state, trigger)
    for state, trigger in itertools.product(JobState, Trigger)
    if (state, trigger) not in TRANSITIONS
]


@pytest.mark.parametrize(("state", "trigger"), REFUSED)
def test_every_other_transition_is_refused_and_changes_nothing(
    state: JobState, trigger: Trigger
) -> None:
    job = job_in(state)
    assert not lifecycle.allows(job, trigger)
    with pytest.raises(TransitionRefused) as refused:
        lifecycle.advance(job, trigger, "why")
    assert lifecycle.state_of(job) is state and job.credentials == "sealed"
    assert isinstance(refused.value, Conflict) and status_of(refused.value) == 409
    assert state.status in refused.value.detail


def test_every_state_is_reachable_from_a_new_job() -> None:
    seen, frontier = {lifecycle.initial_state()}, [lifecycle.initial_state()]
    while frontier:
        state = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is state and target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(JobState)


def test_pausing_and_failing_say_why_and_final_states_erase_the_keys() -> None:
    job = job_in(JobState.TRANSLATING)
    lifecycle.advance(job, Trigger.CAP_REACHED, "Paused: the cap")
    assert job.status == JobStatus.PAUSED and job.status_detail == "Paused: the cap"
    assert job.credentials == "sealed"  # resuming needs them
    lifecycle.advance(job, Trigger.RESUMED)
    assert job.status_detail is None
    lifecycle.advance(job, Trigger.SEGMENT_FAILED, "Segment 2 could not be translated")
    assert job.error_message == "Segment 2 could not be translated"
    assert job.phase == JobPhase.TRANSLATING  # where it stopped
    assert job.credentials is None

    done = job_in(JobState.ASSEMBLING)
    lifecycle.advance(done, Trigger.ASSEMBLED)
    assert done.progress == 100 and done.completed_at is not None
    assert done.credentials is None and done.error_message is None


def test_resuming_a_failed_job_clears_its_failure() -> None:
    job = job_in(JobState.TRANSLATING)
    lifecycle.advance(job, Trigger.SEGMENT_FAILED, "Segment 2 could not be translated")
    assert lifecycle.advance(job, Trigger.RESUMED) is JobState.TRANSLATING
    assert job.error_message is None and job.status == JobStatus.PROCESSING


def test_a_finished_job_translates_chosen_segments_again_and_completes_again() -> None:
    job = job_in(JobState.ASSEMBLING)
    lifecycle.advance(job, Trigger.ASSEMBLED)
    first = job.completed_at
    assert first is not None
    assert lifecycle.advance(job, Trigger.RETRANSLATE) is JobState.TRANSLATING
    assert job.completed_at is None  # not complete while its files are rebuilt
    lifecycle.advance(job, Trigger.ALL_TRANSLATED)
    assert job.completed_at is None
    assert lifecycle.advance(job, Trigger.ASSEMBLED) is JobState.COMPLETED
    # The latest completion: when the files now served were finished.
    assert job.completed_at is not None and job.completed_at >= first


def test_a_row_in_an_unknown_combination_is_not_a_state() -> None:
    with pytest.raises(ValueError):
        lifecycle.state_from(JobStatus.COMPLETED, JobPhase.PLANNING)


def test_cancelling_erases_the_keys_and_says_so() -> None:
    job = job_in(JobState.TRANSLATION_PAUSED)
    lifecycle.advance(job, Trigger.CANCELLED, "Cancelled by its owner.")
    assert job.status == JobStatus.CANCELLED and job.status_detail == "Cancelled by its owner."
    assert job.credentials is None and job.completed_at is None
    assert lifecycle.state_of(job).final
    for trigger in Trigger:  # nothing moves a cancelled job
        assert not lifecycle.allows(job, trigger)
