"""The jobs API in process (real database, real broker): listing, the anonymous status
view, idempotent uploads, cancel, delete, resume, segments, content, downloads, glossary,
PDF, logs, schemas, usage events and the resumable event stream."""

from __future__ import annotations

import asyncio
import io
import json
import uuid

import pypdf
from sqlalchemy import func, select
from translation_wire import auth, outbox_types, plan_key_of, planned, translated, upload

from folio.contracts import (
    JobCancelled,
    JobGlossary,
    JobPlan,
    PlannedUnit,
    SegmentPlan,
    SegmentTranslationFailed,
    TranslateSegment,
    UsageRecorded,
)
from folio.messaging import Envelope
from folio_translation.models import MESSAGING, Job, JobEvent, Segment, UsageRecord


async def create(client, signer, user: str, name: str = "book.txt", **form) -> dict:
    response = await client.post("/api/v1/jobs", headers=auth(signer, user), **upload(name, **form))
    assert response.status_code == 200, response.text
    return response.json()


async def complete(
    app, client, signer, user: str, segments: int = 3, salt: str = "", **form
) -> dict:
    """A job taken through planning, every segment's result and assembly."""
    job = await create(client, signer, user, **form)
    consumer = app.state.runtime.consumers[0]
    salt = salt or uuid.uuid4().hex[:8]
    await consumer.process(planned(job["id"], segments=segments, salt=salt))
    for i in range(segments):
        await consumer.process(translated(job["id"], i, text=f"번역 {i} 한국어 日本語 中文"))
    from folio.contracts import JobAssembled

    done = JobAssembled(job_id=job["id"], outputs={"txt": "jobs/x/output/translated.txt"})
    await consumer.process(Envelope.wrap(done, producer="w").model_dump_json().encode())
    job = (await client.get(f"/api/v1/jobs/{job['id']}", headers=auth(signer, user))).json()
    assert job["status"] == "COMPLETED"
    return job


async def test_listing_your_jobs_newest_first_with_the_upstream_shape(service, internal_signer):
    _app, client = service
    user = f"lister-{uuid.uuid4().hex[:6]}"
    ids = [(await create(client, internal_signer, user, f"b{i}.txt"))["id"] for i in range(3)]
    await create(client, internal_signer, "someone-else")
    listed = await client.get("/api/v1/jobs", headers=auth(internal_signer, user))
    assert listed.status_code == 200
    rows = listed.json()
    assert [r["id"] for r in rows] == ids[::-1]
    for key in (
        "filename",
        "status",
        "progress",
        "created_at",
        "error_message",
        "validation_status",
        "post_edit_status",
        "illustrations_status",
        "illustrations_enabled",
        "illustrations_count",
        "illustrations_data",
    ):
        assert key in rows[0], key
    assert rows[0]["final_glossary"] is None and rows[0]["structured_glossary"] is None
    page = await client.get("/api/v1/jobs?skip=1&limit=1", headers=auth(internal_signer, user))
    assert [r["id"] for r in page.json()] == [ids[1]]
    for bad in ("skip=-1", "limit=0", "limit=1001", "limit=x"):
        response = await client.get(f"/api/v1/jobs?{bad}", headers=auth(internal_signer, user))
        assert response.status_code == 422, bad
        assert response.headers["content-type"] == "application/problem+json"
    anonymous = await client.get("/api/v1/jobs")
    assert anonymous.status_code == 401
    # Ids are large random numbers below 2**53: no enumeration, exact in JavaScript.
    assert all(2**40 <= i < 2**53 for i in ids) and len(set(ids)) == 3


async def test_an_anonymous_poll_gets_the_status_view_only(service, internal_signer):
    _app, client = service
    job = await create(client, internal_signer, "poller", "Secret Title.txt")
    polled = await client.get(f"/api/v1/jobs/{job['id']}")
    assert polled.status_code == 200
    view = polled.json()
    assert view["id"] == job["id"] and view["status"] == "PENDING" and view["progress"] == 0
    for private in ("filename", "owner_id", "final_glossary", "outputs", "document", "model"):
        assert private not in view, private
    assert "Secret" not in polled.text
    missing = await client.get(f"/api/v1/jobs/{2**52 + 12345}")
    assert missing.status_code == 404
    stranger = await client.get(
        f"/api/v1/jobs/{job['id']}", headers=auth(internal_signer, "stranger")
    )
    assert stranger.status_code == 404
    admin = await client.get(
        f"/api/v1/jobs/{job['id']}", headers=auth(internal_signer, "root", "admin")
    )
    assert admin.status_code == 200 and admin.json()["filename"] == "Secret Title.txt"


async def test_a_retried_upload_with_the_same_idempotency_key_makes_one_job(
    service, internal_signer
):
    app, client = service
    user = f"retry-{uuid.uuid4().hex[:6]}"
    headers = {**auth(internal_signer, user), "Idempotency-Key": "upload-1"}
    first = await client.post("/api/v1/jobs", headers=headers, **upload(segment_size=2000))
    again = await client.post("/api/v1/jobs", headers=headers, **upload(segment_size=2000))
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    # Concurrent retries (a client that timed out and retried at once): still one job.
    headers2 = {**auth(internal_signer, user), "Idempotency-Key": "upload-2"}
    answers = await asyncio.gather(
        *(client.post("/api/v1/jobs", headers=headers2, **upload()) for _ in range(4))
    )
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["id"] for a in answers}) == 1
    listed = (await client.get("/api/v1/jobs", headers=auth(internal_signer, user))).json()
    assert len(listed) == 2
    plans = await outbox_types(app.state.database, answers[0].json()["id"])
    assert plans.count("translation.plan_job.v1") == 1
    other = await client.post("/api/v1/jobs", headers=headers, **upload(segment_size=3000))
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]


async def test_cancel_stops_dispatching_and_tells_the_workers(service, internal_signer):
    app, client = service
    headers = auth(internal_signer, "canceller")
    job = await create(client, internal_signer, "canceller")
    consumer = app.state.runtime.consumers[0]
    await consumer.process(planned(job["id"], segments=8, salt=uuid.uuid4().hex))
    assert (await outbox_types(app.state.database, job["id"])).count(TranslateSegment.TYPE) == 3
    stranger = await client.post(
        f"/api/v1/jobs/{job['id']}/cancel", headers=auth(internal_signer, "x")
    )
    assert stranger.status_code == 404
    cancelled = await client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "CANCELLED" and body["status_detail"] == "Cancelled by its owner."
    types = await outbox_types(app.state.database, job["id"])
    assert types[-1] == JobCancelled.TYPE
    # A result still in flight is stored (it was paid for) but dispatches nothing more.
    await consumer.process(translated(job["id"], 0))
    types = await outbox_types(app.state.database, job["id"])
    assert types.count(TranslateSegment.TYPE) == 3
    # The worker's report of a call cut short is charged, and changes nothing else.
    cut = SegmentTranslationFailed(job_id=job["id"], segment_index=1, reason="cancelled")
    await consumer.process(Envelope.wrap(cut, producer="w").model_dump_json().encode())
    again = await client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=headers)
    assert again.status_code == 409
    after = (await client.get(f"/api/v1/jobs/{job['id']}", headers=headers)).json()
    assert after["status"] == "CANCELLED" and after["translated_segments"] == 1
    async with app.state.database.transaction() as session:
        row = await session.get(Job, job["id"])
        assert row is not None and row.credentials is None


async def test_delete_removes_the_job_its_rows_and_its_files(service, internal_signer):
    app, client = service
    headers = auth(internal_signer, "deleter")
    job = await create(client, internal_signer, "deleter")
    consumer = app.state.runtime.consumers[0]
    await consumer.process(planned(job["id"], salt=uuid.uuid4().hex))
    async with app.state.database.transaction() as session:
        upload_key = (await session.get(Job, job["id"])).upload_key
    storage = app.state.storage
    assert await storage.exists(upload_key)
    assert (
        await client.delete(f"/api/v1/jobs/{job['id']}", headers=auth(internal_signer, "x"))
    ).status_code == 404
    deleted = await client.delete(f"/api/v1/jobs/{job['id']}", headers=headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await client.get(f"/api/v1/jobs/{job['id']}", headers=headers)).status_code == 404
    assert not await storage.exists(upload_key)
    async with app.state.database.transaction() as session:
        segments = (
            await session.execute(
                select(func.count()).select_from(Segment).where(Segment.job_id == job["id"])
            )
        ).scalar_one()
        cancels = (
            (
                await session.execute(
                    select(MESSAGING.outbox.c.envelope).where(
                        MESSAGING.outbox.c.message_type == JobCancelled.TYPE,
                        MESSAGING.outbox.c.envelope["data"]["job_id"].as_string() == str(job["id"]),
                    )
                )
            )
            .scalars()
            .all()
        )
    assert segments == 0
    assert [c["data"]["deleted"] for c in cancels] == [True]
    # A plan that arrives for the deleted job is deleted too.
    await storage.put_bytes(f"jobs/{job['id']}/plan", b"{}", name="plan.json")
    await consumer.process(planned(job["id"]))
    assert not await storage.exists(plan_key_of(job["id"]))


async def test_resume_takes_the_upstream_fields_and_checks_a_new_key(
    service, internal_signer, fake_llm_url
):
    app, client = service
    headers = auth(internal_signer, "resumer")
    job = await create(client, internal_signer, "resumer", max_tokens=150)
    consumer = app.state.runtime.consumers[0]
    await consumer.process(planned(job["id"], salt=uuid.uuid4().hex))
    paused = (await client.get(f"/api/v1/jobs/{job['id']}", headers=headers)).json()
    assert paused["status"] == "PAUSED"
    refused = await client.post(
        f"/api/v1/jobs/{job['id']}/resume",
        headers=headers,
        json={
            "api_provider": "openai",
            "api_key": "invalid-key",
            "api_base_url": fake_llm_url + "/v1",
            "model_name": "gpt-4o-mini",
        },
    )
    assert refused.status_code == 400
    assert refused.json()["detail"] == "Invalid API Key or unsupported model."
    # the provider's 401 quotes the key; the refusal never does
    assert "invalid-key" not in refused.text
    resumed = await client.post(
        f"/api/v1/jobs/{job['id']}/resume",
        headers=headers,
        json={
            "api_provider": "openai",
            "api_key": "sk-good",
            "backup_api_keys": ["sk-backup"],
            "api_base_url": fake_llm_url + "/v1",
            "model_name": "gpt-4o-mini",
            "requests_per_minute": 60,
            "max_tokens": 10_000,
            "turbo_mode": False,
        },
    )
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "PROCESSING" and resumed.json()["model"] == "gpt-4o-mini"
    for body in ('{"max_tokens": -1}', "[1]", "not json"):
        bad = await client.post(
            f"/api/v1/jobs/{job['id']}/resume",
            headers={**headers, "content-type": "application/json"},
            content=body,
        )
        assert bad.status_code in (409, 422), body


async def test_segments_content_and_downloads(service, internal_signer):
    app, client = service
    headers = auth(internal_signer, "reader")
    job = await complete(app, client, internal_signer, "reader", segments=5)
    page = await client.get(f"/api/v1/jobs/{job['id']}/segments?offset=1&limit=2", headers=headers)
    assert page.status_code == 200
    body = page.json()
    assert [s["segment_index"] for s in body["segments"]] == [1, 2]
    assert body["total_segments"] == body["total"] == 5 and body["has_more"] is True
    assert body["segments"][0]["source_text"].startswith("source 1")
    assert body["segments"][0]["translated_text"].startswith("번역 1")
    last = (await client.get(f"/api/v1/jobs/{job['id']}/segments?offset=4", headers=headers)).json()
    assert last["has_more"] is False and len(last["segments"]) == 1
    content = await client.get(f"/api/v1/jobs/{job['id']}/content", headers=headers)
    assert content.status_code == 200
    data = content.json()
    assert data["filename"] == "book.txt" and data["completed_at"]
    assert data["content"].split("\n\n")[0] == "번역 0 한국어 日本語 中文"
    assert data["source_content"].count("source") == 5 and len(data["segments"]) == 5
    other = await client.get(
        f"/api/v1/jobs/{job['id']}/content", headers=auth(internal_signer, "x")
    )
    assert other.status_code == 404
    assert (await client.get(f"/api/v1/jobs/{job['id']}/content")).status_code == 401

    # A pending job: no content yet (the upstream's 400), segments say why they are empty.
    pending = await create(client, internal_signer, "reader")
    early = await client.get(f"/api/v1/jobs/{pending['id']}/content", headers=headers)
    assert early.status_code == 400 and "Status: PENDING" in early.json()["detail"]
    empty = (await client.get(f"/api/v1/jobs/{pending['id']}/segments", headers=headers)).json()
    assert empty["segments"] == [] and empty["message"]
    # A cancelled job with nothing translated: no 200 with an empty body.
    await client.post(f"/api/v1/jobs/{pending['id']}/cancel", headers=headers)
    for path in ("download", "jobs/{id}/output"):
        url = "/api/v1/" + path.replace("{id}", str(pending["id"]))
        if path == "download":
            url += f"/{pending['id']}"
        nothing = await client.get(url, headers=headers)
        assert nothing.status_code == 422, (url, nothing.text)
        assert nothing.headers["content-type"] == "application/problem+json"


async def test_a_stopped_job_downloads_what_it_translated(service, internal_signer):
    app, client = service
    headers = auth(internal_signer, "partial")
    job = await create(client, internal_signer, "partial", "Čapek 책.txt")
    consumer = app.state.runtime.consumers[0]
    await consumer.process(planned(job["id"], segments=4, salt=uuid.uuid4().hex))
    await consumer.process(translated(job["id"], 0, text="첫째"))
    await consumer.process(translated(job["id"], 2, text="셋째"))
    await client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=headers)
    download = await client.get(f"/api/v1/jobs/{job['id']}/output", headers=headers)
    assert download.status_code == 200 and download.text == "첫째\n\n셋째\n"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Capek_')
    assert "filename*=UTF-8''%C4%8Capek%20%EC%B1%85_translated.txt" in disposition
    assert disposition.isascii()
    assert "content-disposition" in download.headers["access-control-expose-headers"].lower()


async def test_glossary_read_merge_replace_and_later_commands_cite_the_edit(
    service, internal_signer
):
    app, client = service
    headers = auth(internal_signer, "glossarist")
    job = await complete(app, client, internal_signer, "glossarist")
    async with app.state.database.transaction() as session:
        row = await session.get(Job, job["id"])
        row.context = {
            **(row.context or {}),
            "glossary": [
                {"term": "Gregor", "translation": "그레고르", "kind": None, "source": "analysis"}
            ],
        }
    raw = await client.get(f"/api/v1/jobs/{job['id']}/glossary", headers=headers)
    assert raw.status_code == 200 and raw.json() == {"Gregor": "그레고르"}
    assert 'filename="book_glossary.json"' in raw.headers["content-disposition"]
    merged = await client.post(
        f"/api/v1/jobs/{job['id']}/glossary?mode=merge",
        headers=headers,
        json={"Grete": "그레테", "Gregor": "그레고어"},
    )
    assert merged.status_code == 200, merged.text
    terms = {t["source"]: t["korean"] for t in merged.json()["translated_terms"]["translations"]}
    assert terms == {"Gregor": "그레고어", "Grete": "그레테"}
    replaced = await client.post(
        f"/api/v1/jobs/{job['id']}/glossary?mode=replace&structured=false",
        headers=headers,
        json={"translations": [{"source": "Samsa", "korean": "잠자"}]},
    )
    assert replaced.json() == {"Samsa": "잠자"}
    structured = await client.get(
        f"/api/v1/jobs/{job['id']}/glossary?structured=true", headers=headers
    )
    assert structured.json()["glossary"] == [{"term": "Samsa", "translation": "잠자"}]
    for bad, query in (("[1]", ""), ('{"a": 1}', ""), ("{}", "?mode=append")):
        response = await client.post(
            f"/api/v1/jobs/{job['id']}/glossary{query}",
            headers={**headers, "content-type": "application/json"},
            content=bad,
        )
        assert response.status_code == 422, (bad, response.text)
    pending = await create(client, internal_signer, "glossarist")
    early = await client.post(
        f"/api/v1/jobs/{pending['id']}/glossary", headers=headers, json={"a": "b"}
    )
    assert early.status_code == 422 and "only after translation" in early.json()["detail"]

    # The edit's blob is what later segment commands cite (the worker slices it).
    async with app.state.database.transaction() as session:
        row = await session.get(Job, job["id"])
        from folio_translation.service.dispatch import Dispatcher, _Work

        command = Dispatcher(session, app.state.job_deps)._command(
            row, _Work(index=0, unit_count=1, estimated_tokens=1, digest="d"), ""
        )
    glossary = JobGlossary.load(await app.state.storage.read_bytes(command.glossary_key))
    assert [e.term for e in glossary.entries] == ["Samsa"]
    assert command.glossary_digest == glossary.digest()


async def test_pdf_export_sets_korean_japanese_and_chinese(service, internal_signer):
    app, client = service
    headers = auth(internal_signer, "printer")
    job = await complete(app, client, internal_signer, "printer", segments=2)
    response = await client.get(
        f"/api/v1/jobs/{job['id']}/pdf?page_size=Letter&include_source=true", headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="book_translation.pdf"' in response.headers["content-disposition"]
    pdf = pypdf.PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "한국어" in text and "日本語" in text and "中文" in text and "source 0" in text
    assert [round(float(x)) for x in pdf.pages[0].mediabox[2:]] == [612, 792]
    a4 = await client.post(
        f"/api/v1/export/{job['id']}?format=pdf&include_source=false", headers=headers
    )
    pages = pypdf.PdfReader(io.BytesIO(a4.content)).pages
    assert [round(float(x)) for x in pages[0].mediabox[2:]] == [595, 842]
    assert "source 0" not in "".join(p.extract_text() for p in pages)
    txt = await client.post(f"/api/v1/export/{job['id']}?format=txt", headers=headers)
    assert txt.status_code in (200, 404)  # the fake output blob is not stored here
    for bad in ("page_size=A3", "illustration_position=top", "include_source=maybe"):
        refused = await client.get(f"/api/v1/jobs/{job['id']}/pdf?{bad}", headers=headers)
        assert refused.status_code == 422, bad
    pending = await create(client, internal_signer, "printer")
    early = await client.get(f"/api/v1/jobs/{pending['id']}/pdf", headers=headers)
    assert early.status_code == 422 and "only for completed jobs" in early.json()["detail"]


async def test_prompt_and_context_logs_come_from_the_plan(service, internal_signer):
    app, client = service
    headers = auth(internal_signer, "logger")
    job = await create(client, internal_signer, "logger")
    early = await client.get(f"/api/v1/jobs/{job['id']}/logs/context", headers=headers)
    assert early.status_code == 422
    plan = JobPlan(
        job_id=job["id"],
        segments={0: SegmentPlan(units=[PlannedUnit(index=0, text="Gregor woke.", pieces=[])])},
    )
    await app.state.storage.put_bytes(f"jobs/{job['id']}/plan", plan.dump(), name="plan.json")
    await app.state.runtime.consumers[0].process(planned(job["id"], segments=1))
    prompts = await client.get(f"/api/v1/jobs/{job['id']}/logs/prompts", headers=headers)
    assert prompts.status_code == 200 and "Gregor woke." in prompts.text
    context = await client.get(f"/api/v1/jobs/{job['id']}/logs/context", headers=headers)
    assert context.status_code == 200 and "## Segment 0" in context.text
    assert (
        await client.get(f"/api/v1/jobs/{job['id']}/logs/other", headers=headers)
    ).status_code == 422


async def test_schemas_are_public(service):
    _, client = service
    core = (await client.get("/api/v1/schemas/core")).json()
    assert set(core) == {
        "ExtractedTerms",
        "TranslatedTerms",
        "CharacterInteraction",
        "DialogueAnalysisResult",
        "NarrativeStyleDefinition",
        "StyleDeviation",
        "ValidationResponse",
        "ValidationCase",
    }
    case = (await client.get("/api/v1/schemas/core/ValidationCase")).json()
    assert "severity" in case["properties"]
    missing = await client.get("/api/v1/schemas/core/Nope")
    assert missing.status_code == 404 and "Available schemas" in missing.json()["detail"]
    backend = (await client.get("/api/v1/schemas/backend")).json()
    assert "progress" in backend["TranslationJob"]["properties"]


async def test_usage_is_recorded_by_category_and_published_for_the_dashboard(
    service, internal_signer
):
    app, client = service
    user = f"spender-{uuid.uuid4().hex[:6]}"
    job = await create(client, internal_signer, user)
    consumer = app.state.runtime.consumers[0]
    await consumer.process(planned(job["id"], salt=uuid.uuid4().hex))
    await consumer.process(translated(job["id"], 0))
    async with app.state.database.transaction() as session:
        rows = (
            (await session.execute(select(UsageRecord).where(UsageRecord.job_id == job["id"])))
            .scalars()
            .all()
        )
        events = (
            (
                await session.execute(
                    select(MESSAGING.outbox.c.envelope).where(
                        MESSAGING.outbox.c.message_type == UsageRecorded.TYPE,
                        MESSAGING.outbox.c.envelope["data"]["job_id"].as_string() == str(job["id"]),
                    )
                )
            )
            .scalars()
            .all()
        )
    assert [(r.category, r.owner_id, r.input_tokens) for r in rows] == [("translation", user, 10)]
    (event,) = [UsageRecorded.model_validate(e["data"]) for e in events]
    assert (event.user_id, event.model, event.category, event.phase) == (
        user,
        "m",
        "translation",
        "translation",
    )
    assert (event.calls, event.input_tokens, event.output_tokens) == (1, 10, 5)


def sse_events(text: str) -> list[tuple[int | None, str, dict]]:
    out = []
    for block in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if ": " in line and line[0] != ":"
        )
        if "event" in fields:
            out.append(
                (
                    int(fields["id"]) if "id" in fields else None,
                    fields["event"],
                    json.loads(fields["data"]),
                )
            )
    return out


async def test_the_event_stream_resumes_after_the_last_event_id_without_gaps(
    service, internal_signer
):
    app, client = service
    headers = auth(internal_signer, "follower")
    job = await complete(app, client, internal_signer, "follower", segments=4)
    # Everything from the start: status changes and every segment, numbered 1, 2, 3...
    everything = await client.get(
        f"/api/v1/jobs/{job['id']}/events", headers={**headers, "Last-Event-ID": "0"}
    )
    events = sse_events(everything.text)
    numbered = [(i, kind, data) for i, kind, data in events if kind != "job"]
    assert [i for i, _, _ in numbered] == list(range(1, len(numbered) + 1))
    kinds = [(kind, data.get("status") or data.get("segment_index")) for _, kind, data in numbered]
    assert kinds[0] == ("status", "PENDING") and kinds[-1] == ("status", "COMPLETED")
    assert sorted(d["segment_index"] for _, k, d in numbered if k == "segment") == [0, 1, 2, 3]
    assert events[-1][1] == "job" and events[-1][2]["status"] == "COMPLETED"
    # Reconnecting after event 3 gets exactly 4, 5, ...: nothing lost, nothing twice.
    resumed = await client.get(
        f"/api/v1/jobs/{job['id']}/events", headers={**headers, "Last-Event-ID": "3"}
    )
    again = [i for i, kind, _ in sse_events(resumed.text) if kind != "job"]
    assert again == [i for i, _, _ in numbered if i > 3]
    bad = await client.get(
        f"/api/v1/jobs/{job['id']}/events", headers={**headers, "Last-Event-ID": "x"}
    )
    assert bad.status_code == 422
    assert (await client.get(f"/api/v1/jobs/{job['id']}/events")).status_code == 401
    async with app.state.database.transaction() as session:
        count = (
            await session.execute(
                select(func.count()).select_from(JobEvent).where(JobEvent.job_id == job["id"])
            )
        ).scalar_one()
    assert count == len(numbered)


async def test_paths_with_a_trailing_slash_are_served_not_redirected(service, internal_signer):
    _, client = service
    for path in ("/api/v1/jobs/", "/api/v1/schemas/core/"):
        response = await client.get(path, headers=auth(internal_signer, "slash"))
        assert response.status_code == 200, path
        assert "location" not in response.headers
    assert (await client.get("/api/v1/jobs/")).status_code == 401


async def test_glossary_files_in_and_out_keep_kind_note_gender_and_do_not_translate(
    service, internal_signer
):
    app, client = service
    user = "glossary-files"
    headers = auth(internal_signer, user)
    csv_file = (
        "term,translation,kind,note,gender,do_not_translate\n"
        "Gregor,그레고르,person,the son,male,\n"
        "Prokurist,,,,,yes\n"
    )
    response = await client.post(
        "/api/v1/jobs",
        headers=headers,
        files={
            "file": ("book.txt", b"Gregor met the Prokurist.\n\nGrete.", "text/plain"),
            "glossary_file": ("terms.csv", csv_file.encode(), "text/csv"),
        },
        data={"glossary_data": "Grete\t그레테\tperson\t\tfemale\t"},
    )
    assert response.status_code == 200, response.text
    job = response.json()
    async with app.state.database.transaction() as session:
        row = await session.get(Job, job["id"])
        stored = {g["term"]: g for g in row.glossary_input}
    assert stored["Gregor"]["note"] == "the son" and stored["Gregor"]["gender"] == "male"
    assert stored["Prokurist"]["do_not_translate"] and stored["Prokurist"]["translation"] == (
        "Prokurist"
    )
    assert stored["Grete"]["gender"] == "female"

    bad = await client.post(
        "/api/v1/jobs",
        headers=headers,
        files={
            "file": ("book.txt", b"Text.", "text/plain"),
            "glossary_file": ("terms.csv", b"Gregor,x,person,,robot\n", "text/csv"),
        },
    )
    assert bad.status_code == 422 and "gender" in bad.json()["detail"]
    assert bad.headers["content-type"].startswith("application/problem+json")

    done = await complete(app, client, internal_signer, user)
    async with app.state.database.transaction() as session:
        row = await session.get(Job, done["id"])
        row.context = {
            **(row.context or {}),
            "glossary": [
                {
                    "term": "Gregor",
                    "translation": "그레고르",
                    "kind": "person",
                    "source": "analysis",
                }
            ],
            "characters": [
                {
                    "name": "Gregor",
                    "translation": "그레고르",
                    "gender": "male",
                    "speaks_to": [{"listener": "Grete", "formality": "intimate"}],
                }
            ],
        }
    edited = await client.post(
        f"/api/v1/jobs/{done['id']}/glossary?mode=merge",
        headers={**headers, "content-type": "text/tab-separated-values"},
        content=b"term\ttranslation\tdo_not_translate\nProkurist\t\tyes\n",
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["do_not_translate"] == ["Prokurist"]
    assert body["characters"][0]["speaks_to"] == [
        {"listener": "Grete", "formality": "intimate", "note": None, "from_chapter": None}
    ]
    assert {t["term"]: t["kind"] for t in body["terms"]}["Gregor"] == "person"
    assert {t["source"] for t in body["translated_terms"]["translations"]} == {
        "Gregor",
        "Prokurist",
    }  # the upstream's structured shape is still there

    exported = await client.get(
        f"/api/v1/jobs/{done['id']}/glossary", params={"format": "csv"}, headers=headers
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert 'filename="book_glossary.csv"' in exported.headers["content-disposition"]
    assert exported.text.splitlines() == [
        "term,translation,kind,note,gender,do_not_translate",
        "Gregor,그레고르,person,,,",
        "Prokurist,Prokurist,,,,yes",
    ]
    # what was exported is a valid import, replacing the glossary with itself
    again = await client.post(
        f"/api/v1/jobs/{done['id']}/glossary?mode=replace&structured=false",
        headers={**headers, "content-type": "text/csv"},
        content=exported.content,
    )
    assert again.json() == {"Gregor": "그레고르", "Prokurist": "Prokurist"}
    assert (await client.get(f"/api/v1/jobs/{done['id']}/glossary", headers=headers)).json() == {
        "Gregor": "그레고르",
        "Prokurist": "Prokurist",
    }


async def test_output_options_reach_the_assembly_command(service, internal_signer):
    app, client = service
    plain = await complete(app, client, internal_signer, "options-reader")
    chosen = await complete(
        app, client, internal_signer, "options-reader", colophon="true", vertical_writing="true"
    )
    commands = {}
    async with app.state.database.transaction() as session:
        for job in (plain, chosen):
            envelopes = (
                (
                    await session.execute(
                        select(MESSAGING.outbox.c.envelope).where(
                            MESSAGING.outbox.c.envelope["data"]["job_id"].as_string()
                            == str(job["id"]),
                            MESSAGING.outbox.c.message_type == "translation.assemble_job.v1",
                        )
                    )
                )
                .scalars()
                .all()
            )
            [commands[job["id"]]] = [e["data"] for e in envelopes]
    assert (commands[plain["id"]]["colophon"], commands[plain["id"]]["vertical"]) == (False, False)
    assert (commands[chosen["id"]]["colophon"], commands[chosen["id"]]["vertical"]) == (True, True)
