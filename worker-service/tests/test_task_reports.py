"""Every run of a work command is reported for task monitoring: started, progress (paced),
and how it ended (succeeded, failed, cancelled, or retried when the handler raised). A
success rides on the result event, with the run's start when that was not reported."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from folio.contracts import (
    JobAssembled,
    SegmentTranslated,
    SegmentTranslationFailed,
    TaskCancelled,
    TaskFailed,
    TaskProgressed,
    TaskRetried,
    TaskStarted,
    TaskSucceeded,
    TranslateSegment,
)
from folio.messaging import Defer, Delivery, Envelope
from folio_worker.control import JobControl
from folio_worker.engine import progress
from folio_worker.outcomes import publish_outcome
from folio_worker.tasks import TaskReports


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list = []
        self.ids: list[uuid.UUID] = []

    async def publish(self, message, *, message_id=None, correlation_id=None):  # type: ignore[no-untyped-def]
        self.published.append(message)
        self.ids.append(message_id)


COMMAND = TranslateSegment(
    job_id=11, segment_index=3, target_language="ko", model="m", plan_key="k", digest="d"
)


def delivery(count: int = 0, deferrals: int = 0) -> Delivery:
    envelope = Envelope.wrap(COMMAND, producer="translation-service")
    return Delivery(envelope, None, count, deferrals=deferrals)


@pytest.fixture
def reports() -> tuple[TaskReports, RecordingPublisher, JobControl]:
    publisher, control = RecordingPublisher(), JobControl()
    return TaskReports(publisher, control, progress_interval_s=0.0), publisher, control  # type: ignore[arg-type]


async def test_a_successful_run_reports_start_progress_and_success(reports) -> None:
    tasks, publisher, _ = reports
    run = delivery()

    async def work():  # type: ignore[no-untyped-def]
        for done in range(1, 4):
            await progress.report(done, 3, "units translated")
        return JobAssembled(job_id=11, outputs={})

    await tasks.run(COMMAND, run, work)
    kinds = [type(e) for e in publisher.published]
    # The last step is not a progress report: the success says it.
    assert kinds == [TaskStarted, TaskProgressed, TaskProgressed, TaskSucceeded]
    started, first, _, end = publisher.published
    assert started.task_id == str(run.envelope.message_id) == end.task_id
    assert started.name == "translation.translate_segment" and started.segment_index == 3
    assert started.queued_at == run.envelope.occurred_at
    assert (first.done, first.total, first.message) == (1, 3, "units translated")
    assert end.duration_s >= 0
    # Redoing the same run repeats its ids (the inbox drops the copies).
    again = RecordingPublisher()
    tasks.publisher = again  # type: ignore[assignment]
    await tasks.run(COMMAND, run, work)
    assert again.ids == publisher.ids


async def test_a_failure_event_a_raise_a_deferral_and_a_cancellation(reports) -> None:
    tasks, publisher, control = reports

    async def fails():  # type: ignore[no-untyped-def]
        return SegmentTranslationFailed(job_id=11, segment_index=3, reason="Bad key.")

    await tasks.run(COMMAND, delivery(), fails)
    end = publisher.published[-1]
    assert isinstance(end, TaskFailed) and end.reason == "Bad key."

    async def crashes():  # type: ignore[no-untyped-def]
        raise RuntimeError("token=secret-value")

    with pytest.raises(RuntimeError):
        await tasks.run(COMMAND, delivery(count=1), crashes)
    retried = publisher.published[-1]
    assert isinstance(retried, TaskRetried) and retried.delivery == 1
    assert "secret-value" not in retried.reason and "RuntimeError" in retried.reason

    async def waits():  # type: ignore[no-untyped-def]
        raise Defer(120, "rate limited")

    with pytest.raises(Defer):
        await tasks.run(COMMAND, delivery(), waits)
    deferred = publisher.published[-1]
    assert isinstance(deferred, TaskRetried) and deferred.retry_at is not None
    assert (deferred.retry_at - deferred.at).total_seconds() == pytest.approx(120, abs=1)

    # Cancelled while it ran: the run's failure is a cancellation.
    async def cancelled_meanwhile():  # type: ignore[no-untyped-def]
        await control.cancel(11)
        return SegmentTranslationFailed(job_id=11, segment_index=3, reason="The job was cancelled.")

    await tasks.run(COMMAND, delivery(), cancelled_meanwhile)
    assert isinstance(publisher.published[-1], TaskCancelled)

    # Cancelled before: dropped, never started.
    before = len(publisher.published)
    ran = []

    async def dropped():  # type: ignore[no-untyped-def]
        ran.append(True)
        return None

    await tasks.run(COMMAND, delivery(), dropped)
    assert [type(e) for e in publisher.published[before:]] == [TaskCancelled]
    assert ran == [True]  # the handler still sees (and drops) the command


async def test_progress_is_paced() -> None:
    publisher = RecordingPublisher()
    tasks = TaskReports(publisher, JobControl(), progress_interval_s=3600)  # type: ignore[arg-type]

    async def work():  # type: ignore[no-untyped-def]
        for done in range(1, 50):
            await progress.report(done, 100)
        return JobAssembled(job_id=11, outputs={})

    await tasks.run(COMMAND, delivery(), work)
    assert [type(e) for e in publisher.published] == [TaskStarted, TaskSucceeded]


def translated() -> SegmentTranslated:
    return SegmentTranslated(job_id=11, segment_index=3, translated_text="t", model="m")


async def test_a_quick_success_is_reported_by_its_result_alone() -> None:
    publisher = RecordingPublisher()
    tasks = TaskReports(publisher, JobControl(), started_delay_s=3600)  # type: ignore[arg-type]
    run = delivery(count=1, deferrals=2)

    async def work():  # type: ignore[no-untyped-def]
        await publish_outcome(publisher, translated(), run, "segment-3")  # type: ignore[arg-type]
        return translated()

    await tasks.run(COMMAND, run, work)
    (result,) = publisher.published  # no task event: the result says it all
    assert isinstance(result, SegmentTranslated)
    task = result.task
    assert task is not None and task.task_id == str(run.envelope.message_id)
    assert task.name == "translation.translate_segment"
    assert (task.deferrals, task.delivery) == (2, 1)
    # The start was never reported, so the result carries it.
    assert task.started_at is not None and task.started_at <= task.at
    assert task.queued_at == run.envelope.occurred_at and task.duration_s >= 0


async def test_a_long_run_reports_its_start_and_its_result_says_the_rest() -> None:
    publisher = RecordingPublisher()
    tasks = TaskReports(publisher, JobControl(), started_delay_s=0.05)  # type: ignore[arg-type]
    run = delivery()

    async def work():  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.3)
        await publish_outcome(publisher, translated(), run, "segment-3")  # type: ignore[arg-type]
        return translated()

    await tasks.run(COMMAND, run, work)
    started, result = publisher.published
    assert isinstance(started, TaskStarted) and started.task_id == str(run.envelope.message_id)
    assert isinstance(result, SegmentTranslated) and result.task is not None
    assert result.task.started_at is None  # already reported
    assert result.task.duration_s >= 0.3


async def test_a_quick_failure_still_reports_its_start_first() -> None:
    publisher = RecordingPublisher()
    tasks = TaskReports(publisher, JobControl(), started_delay_s=3600)  # type: ignore[arg-type]

    async def fails():  # type: ignore[no-untyped-def]
        failed = SegmentTranslationFailed(job_id=11, segment_index=3, reason="Bad key.")
        await publish_outcome(publisher, failed, delivery(), "segment-3")  # type: ignore[arg-type]
        return failed

    await tasks.run(COMMAND, delivery(), fails)
    assert [type(e) for e in publisher.published] == [
        TaskStarted,
        SegmentTranslationFailed,
        TaskFailed,
    ]


async def test_a_result_of_a_cancelled_job_carries_no_success() -> None:
    publisher, control = RecordingPublisher(), JobControl()
    tasks = TaskReports(publisher, control, started_delay_s=3600)  # type: ignore[arg-type]

    async def work():  # type: ignore[no-untyped-def]
        await control.cancel(11)
        await publish_outcome(publisher, translated(), delivery(), "segment-3")  # type: ignore[arg-type]
        return translated()

    await tasks.run(COMMAND, delivery(), work)
    started, result, end = publisher.published
    assert isinstance(result, SegmentTranslated) and result.task is None
    assert isinstance(started, TaskStarted) and isinstance(end, TaskCancelled)
