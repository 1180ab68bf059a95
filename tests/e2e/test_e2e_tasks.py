"""Task monitoring through the gateway with the real worker: cancelling one running task
stops its job's work, and every task of the job ends as the workers report it (queued
commands dropped, calls in flight stopped), none left looking busy."""

from __future__ import annotations

import uuid

from folio_devstack.pytest_plugin import wait_until

OPEN = ("pending", "started", "running", "retry")


async def test_cancelling_a_running_task_stops_the_job_and_every_task_ends(gateway, dev_token):
    headers = {"Authorization": f"Bearer {dev_token(f'tasks-{uuid.uuid4().hex[:6]}')}"}
    tag = f"taskbook{uuid.uuid4().hex[:8]}"
    text = "\n\n".join(
        f"{tag} paragraph {i}. Gregor listened to the rain [[fake:slow=3]] at the window, "
        "and the clerk waited in the hall for an answer that did not come."
        for i in range(200)
    )
    created = await gateway.post(
        "/api/v1/jobs",
        headers=headers,
        files={"file": ("slow.txt", text.encode(), "text/plain")},
        data={"segment_size": "1000", "turbo_mode": "true"},
    )
    assert created.status_code == 200, created.text
    job_id = created.json()["id"]

    async def tasks() -> list[dict]:
        response = await gateway.get(f"/api/v1/tasks/job/{job_id}/tasks", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def a_running_segment() -> dict | None:
        return next(
            (
                t
                for t in await tasks()
                if t["name"] == "translation.translate_segment"
                and t["status"] in ("started", "running")
            ),
            None,
        )

    running = await wait_until(a_running_segment, timeout_s=90, interval_s=0.3)
    assert running["start_time"] and running["attempts"] == 1
    assert running["celery_state"] in ("STARTED", "PROGRESS")

    cancelled = await gateway.post(f"/api/v1/tasks/{running['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json() == {"message": "Task cancelled successfully", "task_id": running["id"]}
    job = (await gateway.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
    assert job["status"] == "CANCELLED"

    async def all_ended() -> list[dict] | None:
        rows = await tasks()
        return rows if rows and not any(t["status"] in OPEN for t in rows) else None

    ended = await wait_until(all_ended, timeout_s=90, interval_s=0.5)
    by_id = {t["id"]: t for t in ended}
    assert by_id[running["id"]]["status"] == "revoked"
    assert by_id[running["id"]]["last_error"] == "Task cancelled by user"
    plan = next(t for t in ended if t["name"] == "translation.plan_job")
    assert plan["status"] == "success" and plan["duration"] is not None
    # The job's other unfinished work was reported cancelled by the workers.
    stopped = [t for t in ended if t["id"] != running["id"] and t["status"] == "revoked"]
    assert stopped and all(t["last_error"] == "The job was cancelled." for t in stopped)
    assert all(t["end_time"] for t in ended)
    again = await gateway.post(f"/api/v1/tasks/{running['id']}/cancel", headers=headers)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
