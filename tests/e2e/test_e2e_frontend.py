"""The upstream frontend's own sequence through the gateway, reading the fields it reads;
anonymity rules whatever the method; cancelling mid-translation really stops the calls."""

from __future__ import annotations

import asyncio
import io
import json
import uuid

import pypdf
import pytest

from .conftest import book

FRONTEND = "http://localhost:3000"
CELERY_STATES = {"PENDING", "STARTED", "PROGRESS", "RETRY", "SUCCESS", "FAILURE", "REVOKED"}


async def test_the_frontends_sequence_works_and_keeps_jobs_private(stack, gateway, dev_token):
    user = f"web-{uuid.uuid4().hex[:6]}"
    bearer = {"Authorization": f"Bearer {dev_token(user)}", "Origin": FRONTEND}
    text = book(8, seed=f"-{user}")
    # The upload form's "analyse" buttons: anonymous, with the user's own key (Gemini; the
    # fake model stands in for Google's endpoint, hence api_base_url).
    own_key = {
        "api_key": "AIza-test-key",
        "model_name": "gemini-2.5-flash",
        "api_provider": "gemini",
        "api_base_url": stack.config.url("fake-llm"),
    }
    for kind in ("style", "glossary"):
        analysed = await gateway.post(
            f"/api/v1/analysis/{kind}",
            headers={"Authorization": "", "Origin": FRONTEND},
            files={"file": ("Die Verwandlung 변신.txt", text.encode(), "text/plain")},
            data=own_key,
        )
        assert analysed.status_code == 200, analysed.text
        if kind == "style":
            assert analysed.json()["protagonist_name"]
        else:
            assert analysed.json()["glossary"]
            assert all(g["term"] in text for g in analysed.json()["glossary"])
    # The typed client's preflight before an authorised call.
    preflight = await gateway.options(
        "/api/v1/jobs",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == FRONTEND
    listed = await gateway.get("/api/v1/jobs", headers=bearer)
    assert listed.status_code == 200 and listed.json() == []

    # The upload, with exactly the frontend's multipart fields (no key: the default provider).
    form = {
        "model_name": "gemini-2.5-flash",
        "api_provider": "gemini",
        "api_key": "",
        "style_data": json.dumps(
            {
                "protagonist_name": "Gregor",
                "narration_style_endings": "해라체",
                "tone_keywords": "quiet, uneasy",
                "stylistic_rule": "Keep sentences short.",
            }
        ),
        "glossary_data": json.dumps({"Gregor": "그레고르", "Grete": "그레테"}),
        "segment_size": "1500",
        "turbo_mode": "false",
        "enable_validation": "false",
        "quick_validation": "false",
        "validation_sample_rate": "1.0",
        "enable_post_edit": "false",
    }
    created = await gateway.post(
        "/api/v1/jobs",
        headers=bearer,
        files={"file": ("Die Verwandlung 변신.txt", text.encode(), "text/plain")},
        data=form,
    )
    assert created.status_code == 200, created.text
    job_id = created.json()["id"]

    # Anonymous polling, as the frontend does it: no header, '' or 'Bearer null'.
    deadline = asyncio.get_running_loop().time() + 90
    seen: set[str] = set()
    variants = ({}, {"Authorization": ""}, {"Authorization": "Bearer null"})
    for attempt in range(10_000):
        poll = await gateway.get(f"/api/v1/jobs/{job_id}", headers=variants[attempt % 3])
        assert poll.status_code == 200, poll.text
        view = poll.json()
        assert "filename" not in view and "final_glossary" not in view
        assert isinstance(view["progress"], int) and "validation_status" in view
        seen.add(view["status"])
        # The 10-second poll of the job's tasks, anonymous too: kinds and states only.
        tasks = await gateway.get(
            f"/api/v1/tasks/job/{job_id}/tasks", headers=variants[attempt % 3]
        )
        assert tasks.status_code == 200, tasks.text
        for task in tasks.json():
            assert task["kind"] == "translation" and task["celery_state"] in CELERY_STATES
            assert "last_error" not in task and "user_id" not in task
        if view["status"] in ("COMPLETED", "FAILED"):
            break
        assert asyncio.get_running_loop().time() < deadline, view
        await asyncio.sleep(0.3)
    assert view["status"] == "COMPLETED", view
    assert view["progress"] == 100 and view["completed_at"]

    rows = (await gateway.get("/api/v1/jobs", headers=bearer)).json()
    assert [r["id"] for r in rows] == [job_id]
    row = rows[0]
    for key in (
        "filename",
        "status",
        "progress",
        "created_at",
        "error_message",
        "illustrations_enabled",
        "illustrations_count",
        "illustrations_data",
    ):
        assert key in row

    content = (await gateway.get(f"/api/v1/jobs/{job_id}/content", headers=bearer)).json()
    assert content["filename"] == "Die Verwandlung 변신.txt" and content["completed_at"]
    assert content["content"] and "Paragraph 0" in content["source_content"]
    segments = (
        await gateway.get(f"/api/v1/jobs/{job_id}/segments?offset=0&limit=200", headers=bearer)
    ).json()
    assert segments["total_segments"] >= 2 and segments["has_more"] is False
    assert segments["offset"] == 0 and segments["limit"] == 200 and "message" in segments
    first = segments["segments"][0]
    assert first["segment_index"] == 0 and first["source_text"] and first["translated_text"]

    for url in (f"/api/v1/download/{job_id}", f"/api/v1/jobs/{job_id}/output"):
        download = await gateway.get(url, headers=bearer)
        assert download.status_code == 200 and download.text.strip()
        assert download.headers["content-type"].startswith("text/plain")
        disposition = download.headers["content-disposition"]
        assert (
            disposition.startswith('attachment; filename="Die_Verwandlung_')
            and disposition.isascii()
        )
        assert "filename*=UTF-8''Die%20Verwandlung%20%EB%B3%80%EC%8B%A0_translated.txt" in (
            disposition
        )
        assert "content-disposition" in download.headers["access-control-expose-headers"].lower()
    glossary = (
        await gateway.get(f"/api/v1/jobs/{job_id}/glossary?structured=true", headers=bearer)
    ).json()
    terms = {t["source"]: t["korean"] for t in glossary["translated_terms"]["translations"]}
    assert terms["Gregor"] == "그레고르"
    pdf = await gateway.get(
        f"/api/v1/jobs/{job_id}/pdf?include_source=true&include_illustrations=false"
        "&illustration_position=middle",
        headers=bearer,
    )
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "Paragraph 0" in "".join(
        p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages
    )
    for log in ("prompts", "context"):
        response = await gateway.get(f"/api/v1/jobs/{job_id}/logs/{log}", headers=bearer)
        assert response.status_code == 200 and response.text

    # Its owner sees each piece of work the book took, finished, with its timings.
    tasks = (await gateway.get(f"/api/v1/tasks/job/{job_id}/tasks", headers=bearer)).json()
    names = [t["name"] for t in tasks]
    assert names.count("translation.plan_job") == 1
    assert names.count("translation.assemble_job") == 1
    assert names.count("translation.translate_segment") == segments["total_segments"]
    for task in tasks:
        assert task["status"] == "success" and task["celery_state"] == "SUCCESS", task
        assert task["start_time"] and task["end_time"] and task["duration"] is not None
        assert task["queue_duration"] is not None and task["attempts"] >= 1
        assert task["user_id"] == user
        one = await gateway.get(f"/api/v1/tasks/{task['id']}", headers=bearer)
        assert one.status_code == 200 and one.json()["id"] == task["id"]
    mine = (await gateway.get(f"/api/v1/tasks/?job_id={job_id}", headers=bearer)).json()
    assert mine["total"] == len(tasks)

    # Another user sees nothing of it; an anonymous caller only the status view.
    other = {"Authorization": f"Bearer {dev_token('web-other')}"}
    for path in ("", "/content", "/segments", "/glossary", "/pdf", "/output"):
        assert (await gateway.get(f"/api/v1/jobs/{job_id}{path}", headers=other)).status_code == 404
    for path in (f"/tasks/job/{job_id}/tasks", f"/tasks/{tasks[0]['id']}"):
        assert (await gateway.get(f"/api/v1{path}", headers=other)).status_code == 404
    stats = await gateway.get(
        "/api/v1/tasks/stats/summary",
        headers={"Authorization": f"Bearer {dev_token('web-admin', admin=True)}"},
    )
    assert stats.status_code == 200 and stats.json()["kind_counts"]["translation"] >= len(tasks)
    assert (await gateway.get("/api/v1/tasks/stats/summary", headers=other)).status_code == 403
    deleted = await gateway.delete(f"/api/v1/jobs/{job_id}", headers=bearer)
    assert deleted.status_code == 204
    assert (await gateway.get(f"/api/v1/jobs/{job_id}")).status_code == 404


PROTECTED = [
    ("GET", "/api/v1/jobs"),
    ("POST", "/api/v1/jobs"),
    ("DELETE", "/api/v1/jobs/{id}"),
    ("POST", "/api/v1/jobs/{id}/resume"),
    ("POST", "/api/v1/jobs/{id}/cancel"),
    ("GET", "/api/v1/jobs/{id}/content"),
    ("GET", "/api/v1/jobs/{id}/segments"),
    ("GET", "/api/v1/jobs/{id}/events"),
    ("GET", "/api/v1/jobs/{id}/output"),
    ("GET", "/api/v1/jobs/{id}/pdf"),
    ("GET", "/api/v1/jobs/{id}/glossary"),
    ("POST", "/api/v1/jobs/{id}/glossary"),
    ("GET", "/api/v1/jobs/{id}/logs/prompts"),
    ("GET", "/api/v1/download/{id}"),
    ("POST", "/api/v1/export/{id}"),
    ("GET", "/api/v1/tasks"),
    ("GET", "/api/v1/tasks/{id}"),
    ("POST", "/api/v1/tasks/{id}/cancel"),
    ("GET", "/api/v1/tasks/stats/summary"),
]


@pytest.mark.parametrize("authorization", [None, "", "Bearer null", "Bearer undefined", "Basic x"])
async def test_anonymous_callers_get_401_on_protected_routes(gateway, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in PROTECTED:
        url = path.replace("{id}", str(2**52 + 7))
        response = await gateway.request(method, url, headers=headers)
        assert response.status_code == 401, (method, url, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        # Trailing slashes are the same route, and never a redirect to an internal port.
        slashed = await gateway.request(method, url + "/", headers=headers)
        assert slashed.status_code == 401, (method, url + "/")
        assert "location" not in slashed.headers


async def test_malformed_input_is_a_4xx_never_a_500(gateway, dev_token):
    bearer = {"Authorization": f"Bearer {dev_token('fuzzer')}"}
    ids = ("0", "-1", "abc", "1e9", str(2**70), "%00", "1;DROP")
    for method, path in PROTECTED:
        for bad in ids if "{id}" in path else ("",):
            url = path.replace("{id}", bad)
            for body in (None, b"{", b"[]", b'{"mode": 3}', b"\xff\xfe"):
                response = await gateway.request(
                    method,
                    url,
                    headers={**bearer, "content-type": "application/json"},
                    content=body,
                )
                assert response.status_code < 500, (method, url, body, response.text)
                if bad:
                    assert response.status_code >= 400, (method, url, body, response.text)
    weird = await gateway.post(
        "/api/v1/jobs",
        headers={**bearer, "content-type": "multipart/form-data; boundary=x"},
        content=b"--x\r\nContent-Disposition: form-data; name=file\r\n\r\n--x--",
    )
    assert 400 <= weird.status_code < 500, weird.text


async def test_cancelling_mid_translation_stops_the_model_calls(gateway, fake_llm, dev_token):
    """Slow model calls on a long book: after the cancel, the fake model sees no new call
    for the job (queued segments are dropped, calls in flight end) and it reads CANCELLED."""
    token = dev_token(f"cancel-{uuid.uuid4().hex[:6]}")
    headers = {"Authorization": f"Bearer {token}"}
    tag = f"slowbook{uuid.uuid4().hex[:8]}"
    paragraphs = [
        f"{tag} paragraph {i}. Gregor listened to the rain [[fake:slow=3]] at the window, "
        "and the clerk waited in the hall for an answer that did not come."
        for i in range(300)
    ]
    created = await gateway.post(
        "/api/v1/jobs",
        headers=headers,
        files={"file": ("slow.txt", "\n\n".join(paragraphs).encode(), "text/plain")},
        data={"segment_size": "1000", "turbo_mode": "true"},
    )
    assert created.status_code == 200, created.text
    job_id = created.json()["id"]

    async def calls() -> int:
        rows = (await fake_llm.get("/_fake/requests")).json()
        rows = rows["requests"] if isinstance(rows, dict) else rows
        return sum(1 for r in rows if tag in r.get("prompt", ""))

    deadline = asyncio.get_running_loop().time() + 60
    while await calls() < 3:
        assert asyncio.get_running_loop().time() < deadline, "the job never started translating"
        await asyncio.sleep(0.2)
    cancelled = await gateway.post(f"/api/v1/jobs/{job_id}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    # The cancellation reaches the workers and their calls in flight end; the fake model
    # logs a call when its (3 s) answer is done, so a call cut short shows up until then.
    await asyncio.sleep(5)
    settled = await calls()
    await asyncio.sleep(5)
    assert await calls() == settled, "model calls went on after the cancel"
    job = (await gateway.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
    assert job["status"] == "CANCELLED" and job["translated_segments"] < job["total_segments"]
    again = await gateway.post(f"/api/v1/jobs/{job_id}/cancel", headers=headers)
    assert again.status_code == 409


async def test_an_upload_retried_with_its_idempotency_key_makes_one_job(gateway, dev_token):
    token = dev_token(f"idem-{uuid.uuid4().hex[:6]}")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
    files = {"file": ("once.txt", book(2).encode(), "text/plain")}
    answers = await asyncio.gather(
        *(gateway.post("/api/v1/jobs", headers=headers, files=files) for _ in range(3))
    )
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["id"] for a in answers}) == 1
    listed = await gateway.get("/api/v1/jobs", headers={"Authorization": f"Bearer {token}"})
    assert len(listed.json()) == 1
