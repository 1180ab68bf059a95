"""Task monitoring in process (real database, real broker): a task per work command,
recorded when it is queued and moved by the worker's task events (in order, once each),
the upstream's /tasks routes, privacy, cancelling and the admins' statistics."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from translation_wire import auth, outbox_types, planned, translated, upload

from folio.contracts import (
    TaskCancelled,
    TaskFailed,
    TaskProgressed,
    TaskRetried,
    TaskRun,
    TaskStarted,
    TaskSucceeded,
)
from folio.messaging import Envelope

STATUS_VIEW_KEYS = {
    "id",
    "kind",
    "name",
    "status",
    "celery_state",
    "job_id",
    "segment_index",
    "progress",
    "created_at",
    "updated_at",
}


def user() -> str:
    return f"tasker-{uuid.uuid4().hex[:8]}"


async def create(client, signer, owner: str) -> dict:
    response = await client.post("/api/v1/jobs", headers=auth(signer, owner), **upload())
    assert response.status_code == 200, response.text
    return response.json()


async def job_tasks(client, signer, owner: str, job_id: int) -> list[dict]:
    response = await client.get(f"/api/v1/tasks/job/{job_id}/tasks", headers=auth(signer, owner))
    assert response.status_code == 200, response.text
    return response.json()


def wire(event, message_id: uuid.UUID | None = None) -> bytes:
    envelope = Envelope.wrap(event, producer="worker-service", message_id=message_id)
    return envelope.model_dump_json().encode()


def fields(task: dict, **extra) -> dict:
    return {
        "task_id": task["id"],
        "job_id": task["job_id"],
        "name": task["name"],
        "segment_index": task["segment_index"],
        **extra,
    }


async def test_a_task_per_command_follows_the_worker_reports_in_order(service, internal_signer):
    app, client = service
    consumer = app.state.runtime.consumers[0]
    owner = user()
    job = await create(client, internal_signer, owner)
    (plan,) = await job_tasks(client, internal_signer, owner, job["id"])
    assert plan["name"] == "translation.plan_job" and plan["kind"] == "translation"
    assert plan["status"] == "pending" and plan["celery_state"] == "PENDING"
    assert plan["queue_time"] is not None and plan["user_id"] == owner
    assert plan["attempts"] == 0 and plan["max_retries"] == 4

    t0 = datetime.now(UTC) + timedelta(seconds=1)
    started = TaskStarted(**fields(plan), at=t0)
    # The end arrives before the start and the progress (events cross on the bus).
    await consumer.process(
        wire(TaskSucceeded(**fields(plan), at=t0 + timedelta(seconds=3), duration_s=3.0))
    )
    await consumer.process(wire(started))
    await consumer.process(
        wire(TaskProgressed(**fields(plan), at=t0 + timedelta(seconds=1), done=1, total=2))
    )
    task = (
        await client.get(f"/api/v1/tasks/{plan['id']}", headers=auth(internal_signer, owner))
    ).json()
    assert task["status"] == "success" and task["celery_state"] == "SUCCESS"
    assert task["duration"] == 3.0 and task["progress"] == 100
    assert task["end_time"] is not None

    # The planned book dispatches its segments (window 3): one task each.
    await consumer.process(planned(job["id"], segments=4, salt=uuid.uuid4().hex))
    tasks = await job_tasks(client, internal_signer, owner, job["id"])
    segments = sorted(
        (t for t in tasks if t["name"] == "translation.translate_segment"),
        key=lambda t: t["segment_index"],
    )
    assert [t["segment_index"] for t in segments] == [0, 1, 2]
    assert all(t["status"] == "pending" for t in segments)

    # One segment: started, progress, retried (a redelivery), started again, failed.
    first = segments[0]
    start = TaskStarted(**fields(first), at=t0)
    await consumer.process(wire(start, message_id=uuid.uuid4()))
    await consumer.process(
        wire(TaskProgressed(**fields(first), at=t0, done=1, total=4, message="units translated"))
    )
    running = (
        await client.get(f"/api/v1/tasks/{first['id']}", headers=auth(internal_signer, owner))
    ).json()
    assert running["status"] == "running" and running["celery_state"] == "PROGRESS"
    assert running["progress"] == 25 and running["message"] == "units translated"
    assert running["celery_info"] == {"current": 25, "total": 100, "status": "units translated"}
    await consumer.process(
        wire(TaskRetried(**fields(first), at=t0, reason="An internal error", duration_s=1.5))
    )
    again = TaskStarted(**fields(first), at=t0 + timedelta(seconds=2), delivery=1)
    again_id = uuid.uuid4()
    await consumer.process(wire(again, message_id=again_id))
    await consumer.process(wire(again, message_id=again_id))  # a duplicate: counted once
    # A stale report of the first run changes nothing.
    await consumer.process(
        wire(TaskProgressed(**fields(first), at=t0, done=3, total=4, message="stale"))
    )
    await consumer.process(
        wire(
            TaskFailed(
                **fields(first, delivery=1),
                at=t0 + timedelta(seconds=4),
                reason="The model refused the key.",
                duration_s=2.0,
            )
        )
    )
    # Nothing reopens a finished task, not even a late start of a redelivered copy.
    await consumer.process(wire(TaskStarted(**fields(first), at=t0, delivery=2)))
    failed = (
        await client.get(f"/api/v1/tasks/{first['id']}", headers=auth(internal_signer, owner))
    ).json()
    assert failed["status"] == "failure" and failed["celery_state"] == "FAILURE"
    assert failed["attempts"] == 2
    assert failed["last_error"] == "The model refused the key."
    assert failed["duration"] == 3.5  # both runs' working time
    assert failed["message"] == "units translated"

    second = segments[1]
    await consumer.process(wire(TaskCancelled(**fields(second), at=t0)))
    cancelled = (
        await client.get(f"/api/v1/tasks/{second['id']}", headers=auth(internal_signer, owner))
    ).json()
    assert cancelled["status"] == "revoked" and cancelled["celery_state"] == "REVOKED"


async def test_reports_of_a_deleted_job_or_an_unknown_task_are_harmless(service, internal_signer):
    app, client = service
    consumer = app.state.runtime.consumers[0]
    owner = user()
    job = await create(client, internal_signer, owner)
    (plan,) = await job_tasks(client, internal_signer, owner, job["id"])
    # A command sent before tasks were recorded: its first report makes the task.
    older = str(uuid.uuid4())
    await consumer.process(
        wire(
            TaskStarted(
                task_id=older,
                job_id=job["id"],
                name="translation.translate_segment",
                segment_index=7,
                at=datetime.now(UTC),
            )
        )
    )
    made = (await client.get(f"/api/v1/tasks/{older}", headers=auth(internal_signer, owner))).json()
    assert made["status"] == "started" and made["user_id"] == owner and made["segment_index"] == 7
    deleted = await client.delete(f"/api/v1/jobs/{job['id']}", headers=auth(internal_signer, owner))
    assert deleted.status_code == 204
    gone = await client.get(f"/api/v1/tasks/{plan['id']}", headers=auth(internal_signer, owner))
    assert gone.status_code == 404
    # Late reports about the deleted job's tasks are consumed without effect.
    await consumer.process(wire(TaskSucceeded(**fields(plan), at=datetime.now(UTC))))
    await consumer.process(
        wire(
            TaskStarted(task_id=str(uuid.uuid4()), job_id=job["id"], name="x", at=datetime.now(UTC))
        )
    )
    gone = await client.get(f"/api/v1/tasks/{plan['id']}", headers=auth(internal_signer, owner))
    assert gone.status_code == 404


async def test_tasks_are_private_and_the_anonymous_poll_sees_states_only(service, internal_signer):
    _app, client = service
    owner, other = user(), user()
    job = await create(client, internal_signer, owner)
    (plan,) = await job_tasks(client, internal_signer, owner, job["id"])

    anonymous = await client.get(f"/api/v1/tasks/job/{job['id']}/tasks")
    assert anonymous.status_code == 200
    (view,) = anonymous.json()
    assert set(view) == STATUS_VIEW_KEYS
    assert view["kind"] == "translation" and view["celery_state"] == "PENDING"
    for path in (
        f"/api/v1/tasks/job/{job['id']}/tasks",
        f"/api/v1/tasks/{plan['id']}",
        f"/api/v1/tasks/{plan['id']}/cancel",
    ):
        method = "POST" if path.endswith("/cancel") else "GET"
        response = await client.request(method, path, headers=auth(internal_signer, other))
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/problem+json")
    for path in ("/api/v1/tasks/job/1/tasks", "/api/v1/tasks/job/9007199254740000/tasks"):
        assert (await client.get(path)).status_code == 404
    for path in ("/api/v1/tasks/job/x/tasks", "/api/v1/tasks/job/0/tasks"):
        assert (await client.get(path)).status_code == 422
    assert (await client.get(f"/api/v1/tasks/{plan['id']}")).status_code == 401
    assert (await client.get("/api/v1/tasks/")).status_code == 401
    assert (await client.post(f"/api/v1/tasks/{plan['id']}/cancel")).status_code == 401
    admin = await client.get(
        f"/api/v1/tasks/{plan['id']}", headers=auth(internal_signer, "root", "admin")
    )
    assert admin.status_code == 200 and admin.json()["user_id"] == owner
    long_id = "x" * 65
    response = await client.get(f"/api/v1/tasks/{long_id}", headers=auth(internal_signer, owner))
    assert response.status_code == 422
    unknown = await client.get(
        f"/api/v1/tasks/{uuid.uuid4()}", headers=auth(internal_signer, owner)
    )
    assert unknown.status_code == 404 and unknown.json()["detail"] == "Task not found"


async def test_listing_filters_and_pages_your_tasks(service, internal_signer):
    app, client = service
    consumer = app.state.runtime.consumers[0]
    owner, other = user(), user()
    first = await create(client, internal_signer, owner)
    second = await create(client, internal_signer, owner)
    await create(client, internal_signer, other)
    (plan,) = await job_tasks(client, internal_signer, owner, first["id"])
    await consumer.process(wire(TaskStarted(**fields(plan), at=datetime.now(UTC))))

    for path in ("/api/v1/tasks/", "/api/v1/tasks"):
        listed = await client.get(path, headers=auth(internal_signer, owner))
        assert listed.status_code == 200, path
        body = listed.json()
        assert body["total"] == 2 and body["limit"] == 20 and body["offset"] == 0
        assert {t["job_id"] for t in body["tasks"]} == {first["id"], second["id"]}
        assert body["tasks"][0]["job_id"] == second["id"]  # newest first
    headers = auth(internal_signer, owner)
    started = (await client.get("/api/v1/tasks/?status=started", headers=headers)).json()
    assert [t["id"] for t in started["tasks"]] == [plan["id"]]
    of_job = (await client.get(f"/api/v1/tasks/?job_id={second['id']}", headers=headers)).json()
    assert of_job["total"] == 1 and of_job["tasks"][0]["job_id"] == second["id"]
    assert (await client.get("/api/v1/tasks/?kind=validation", headers=headers)).json()[
        "total"
    ] == 0
    page = (await client.get("/api/v1/tasks/?limit=1&offset=1", headers=headers)).json()
    assert page["total"] == 2 and [t["job_id"] for t in page["tasks"]] == [first["id"]]
    for bad in ("status=done", "kind=x", "limit=0", "limit=101", "offset=-1", "job_id=abc"):
        response = await client.get(f"/api/v1/tasks/?{bad}", headers=headers)
        assert response.status_code == 422, bad
    admin = await client.get(
        f"/api/v1/tasks/?job_id={first['id']}", headers=auth(internal_signer, "root", "admin")
    )
    assert admin.json()["total"] == 1  # admins see everyone's


async def test_cancelling_a_task_cancels_its_job(service, internal_signer):
    app, client = service
    owner = user()
    job = await create(client, internal_signer, owner)
    (plan,) = await job_tasks(client, internal_signer, owner, job["id"])
    response = await client.post(
        f"/api/v1/tasks/{plan['id']}/cancel", headers=auth(internal_signer, owner)
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Task cancelled successfully", "task_id": plan["id"]}
    read = await client.get(f"/api/v1/jobs/{job['id']}", headers=auth(internal_signer, owner))
    assert read.json()["status"] == "CANCELLED"
    assert "translation.job.cancelled.v1" in await outbox_types(app.state.database, job["id"])
    task = (
        await client.get(f"/api/v1/tasks/{plan['id']}", headers=auth(internal_signer, owner))
    ).json()
    assert task["status"] == "revoked" and task["last_error"] == "Task cancelled by user"
    again = await client.post(
        f"/api/v1/tasks/{plan['id']}/cancel", headers=auth(internal_signer, owner)
    )
    assert again.status_code == 409


async def test_statistics_are_for_admins(service, internal_signer):
    app, client = service
    consumer = app.state.runtime.consumers[0]
    owner = user()
    admin = auth(internal_signer, "root", "admin")
    before = (await client.get("/api/v1/tasks/stats/summary", headers=admin)).json()
    job = await create(client, internal_signer, owner)
    (plan,) = await job_tasks(client, internal_signer, owner, job["id"])
    now = datetime.now(UTC)
    await consumer.process(wire(TaskStarted(**fields(plan), at=now)))
    await consumer.process(wire(TaskSucceeded(**fields(plan), at=now, duration_s=2.5)))
    stats = await client.get("/api/v1/tasks/stats/summary?hours=1", headers=admin)
    assert stats.status_code == 200
    body = stats.json()
    assert body["period_hours"] == 1
    assert body["total_tasks"] == sum(body["status_counts"].values())
    assert body["status_counts"]["success"] >= before["status_counts"].get("success", 0) + 1
    assert body["kind_counts"]["translation"] >= 1
    assert body["average_durations"]["translation"] > 0
    forbidden = await client.get(
        "/api/v1/tasks/stats/summary", headers=auth(internal_signer, owner)
    )
    assert forbidden.status_code == 403 and forbidden.json()["detail"] == "Admin access required"
    assert (await client.get("/api/v1/tasks/stats/summary")).status_code == 401
    for bad in ("hours=0", "hours=x", "hours=100000"):
        assert (
            await client.get(f"/api/v1/tasks/stats/summary?{bad}", headers=admin)
        ).status_code == 422


async def test_a_result_carries_its_run_and_finishes_the_task(service, internal_signer):
    """A run that succeeded is reported by its result event alone (``task``): the task
    ends as its start and its success would have left it, in the result's transaction."""
    app, client = service
    consumer = app.state.runtime.consumers[0]
    owner = user()
    job = await create(client, internal_signer, owner)
    (plan,) = await job_tasks(client, internal_signer, owner, job["id"])

    async def task_of(task_id: str) -> dict:
        response = await client.get(
            f"/api/v1/tasks/{task_id}", headers=auth(internal_signer, owner)
        )
        assert response.status_code == 200, response.text
        return response.json()

    t0 = datetime.now(UTC) + timedelta(seconds=1)
    quick = TaskRun(
        task_id=plan["id"],
        name=plan["name"],
        at=t0 + timedelta(seconds=2),
        duration_s=2.0,
        started_at=t0,
        queued_at=t0 - timedelta(seconds=5),
    )
    await consumer.process(planned(job["id"], segments=4, salt=uuid.uuid4().hex, task=quick))
    done = await task_of(plan["id"])
    assert done["status"] == "success" and done["progress"] == 100
    assert done["attempts"] == 1 and done["duration"] == 2.0
    assert datetime.fromisoformat(done["start_time"]) == t0
    assert datetime.fromisoformat(done["end_time"]) == t0 + timedelta(seconds=2)
    # The queue wait runs from when the task was queued here, not the worker's clock.
    assert 0 < done["queue_duration"] < 60

    segments = sorted(
        (
            t
            for t in await job_tasks(client, internal_signer, owner, job["id"])
            if t["name"] == "translation.translate_segment"
        ),
        key=lambda t: t["segment_index"],
    )
    first, second, third = segments
    # A long run reported its start; its result finishes it without counting it twice.
    await consumer.process(wire(TaskStarted(**fields(first), at=t0)))
    long_run = TaskRun(task_id=first["id"], name=first["name"], at=t0, duration_s=1.5)
    await consumer.process(translated(job["id"], 0, task=long_run))
    finished = await task_of(first["id"])
    assert finished["status"] == "success" and finished["attempts"] == 1
    assert finished["duration"] == 1.5

    # A cancelled task stays cancelled, whatever a late result says.
    await consumer.process(wire(TaskCancelled(**fields(second), at=t0)))
    late = TaskRun(task_id=second["id"], name=second["name"], at=t0, started_at=t0)
    await consumer.process(translated(job["id"], 1, task=late))
    assert (await task_of(second["id"]))["status"] == "revoked"

    # A result whose run overtook a later run's start (redelivered meanwhile) counts its
    # time and its start, but the later run's state stands.
    await consumer.process(wire(TaskStarted(**fields(third), at=t0, delivery=1)))
    overtaken = TaskRun(
        task_id=third["id"], name=third["name"], at=t0, duration_s=4.0, started_at=t0
    )
    await consumer.process(translated(job["id"], 2, task=overtaken))
    third_now = await task_of(third["id"])
    assert third_now["status"] == "started" and third_now["attempts"] == 2
    assert third_now["duration"] == 4.0

    # A command sent before tasks were recorded: its result makes the finished task.
    older = str(uuid.uuid4())
    unknown = TaskRun(
        task_id=older, name="translation.translate_segment", at=t0, duration_s=1.0, started_at=t0
    )
    await consumer.process(translated(job["id"], 3, task=unknown))
    made = await task_of(older)
    assert made["status"] == "success" and made["segment_index"] == 3
    assert made["attempts"] == 1 and made["job_id"] == job["id"]
