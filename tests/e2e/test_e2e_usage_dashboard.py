"""The token-usage dashboard from real jobs: translation-service records every model call
and publishes it through its outbox; user-service's read model adds the events up. What a
user's dashboard shows is exactly what their jobs cost, and nothing of anyone else's."""

from __future__ import annotations

from folio_devstack.pytest_plugin import wait_until

from .board import unique
from .conftest import book, submit, wait_for_job


async def test_the_dashboard_adds_up_the_jobs_a_user_ran(gateway, dev_token):
    reader = dev_token(unique("user_jobs_usage"))
    other = dev_token(unique("user_jobs_usage_other"))
    headers = {"Authorization": f"Bearer {reader}"}

    finished = []
    for seed, options in (("a", {}), ("b", {"turbo_mode": "true", "target_language": "ja"})):
        job = await submit(
            gateway, reader, f"usage-{seed}.txt", book(6, seed=seed).encode(), **options
        )
        finished.append(await wait_for_job(gateway, reader, job["id"]))
    # Someone else's job must not show on this user's dashboard.
    theirs = await submit(gateway, other, "theirs.txt", book(5, seed="z").encode())
    await wait_for_job(gateway, other, theirs["id"])
    assert all(job["status"] == "COMPLETED" for job in finished), finished

    expected_input = sum(job["usage"]["input_tokens"] for job in finished)
    # Providers bill reasoning as output, and so does the dashboard.
    expected_output = sum(
        job["usage"]["output_tokens"] + job["usage"]["thinking_tokens"] for job in finished
    )
    assert expected_input > 0 and expected_output > 0

    async def dashboard():
        response = await gateway.get("/api/v1/users/me/token-usage", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        return body if body["total"]["input_tokens"] == expected_input else None

    body = await wait_until(dashboard, timeout_s=20)
    assert body["total"] == {
        "input_tokens": expected_input,
        "output_tokens": expected_output,
        "total_tokens": expected_input + expected_output,
    }
    models = {job["model"] for job in finished}
    assert {row["model"] for row in body["per_model"]} == models
    assert sum(row["input_tokens"] for row in body["per_model"]) == expected_input
    assert body["illustrations"]["image_count"] == 0
    assert body["last_updated"] is not None
