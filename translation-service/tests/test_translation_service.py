"""translation-service in process: its API rules and its event handlers, on a real
database and a real broker (its own virtual host)."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select
from translation_wire import (
    auth,
    call_record,
    calls_recorded,
    outbox_envelopes,
    outbox_types,
    plan_key_of,
    planned,
    translated,
    upload,
)

from folio.contracts import (
    AssembleJob,
    AssemblySnapshot,
    CallRecord,
    JobAssembled,
    JobPlanningFailed,
    PlanJob,
    SegmentTranslated,
    SegmentTranslationFailed,
    TranslateSegment,
    UsageRecorded,
)
from folio.messaging import Envelope
from folio_translation.models import (
    MESSAGING,
    Job,
    JobEvent,
    Segment,
    TranslationMemory,
    UsageRecord,
)
from folio_translation.service import progress as progress_service


async def test_create_job_requires_an_identity(service):
    _, client = service
    response = await client.post("/api/v1/jobs", **upload())
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "Authentication required."


async def test_forged_identity_token_is_refused(service):
    _, client = service
    from folio.identity import InternalTokenSigner, generate_ed25519_keypair

    forger = InternalTokenSigner(generate_ed25519_keypair()[0], "folio-gateway", "folio-internal")
    response = await client.post("/api/v1/jobs", headers=auth(forger, role="admin"), **upload())
    assert response.status_code == 401
    assert response.json()["status"] == 401


@pytest.mark.parametrize(
    ("kwargs", "status", "detail_part"),
    [
        ({"name": "virus.exe"}, 415, "Unsupported file type '.exe'"),
        ({"name": "noext"}, 415, "Unsupported file type"),
        ({"body": b""}, 422, "empty"),
        ({"segment_size": 10}, 422, "segment_size must be between"),
        ({"segment_size": "many"}, 422, "segment_size"),
        ({"body": b"x" * (64 * 1024 + 1)}, 413, "too large"),
    ],
)
async def test_bad_uploads_get_clear_problems(
    service, internal_signer, kwargs, status, detail_part
):
    _, client = service
    form = {k: v for k, v in kwargs.items() if k == "segment_size"}
    file_kwargs = {k: v for k, v in kwargs.items() if k in ("name", "body")}
    response = await client.post(
        "/api/v1/jobs", headers=auth(internal_signer), **upload(**file_kwargs, **form)
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert detail_part in response.json()["detail"]


async def test_a_job_is_created_with_its_plan_command_in_the_same_transaction(
    service, internal_signer
):
    app, client = service
    response = await client.post(
        "/api/v1/jobs",
        headers=auth(internal_signer, "bob"),
        **upload("../../etc/My Book.txt", segment_size=2000, target_language="ja"),
    )
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["status"] == "PENDING"
    assert job["filename"] == "My Book.txt"  # only the last path component survives
    assert job["owner_id"] == "bob" and job["target_language"] == "ja"
    database = app.state.database
    async with database.transaction() as session:
        row = (await session.execute(select(Job).where(Job.id == job["id"]))).scalar_one()
        messages = (
            (
                await session.execute(
                    select(MESSAGING.outbox.c.envelope).where(
                        MESSAGING.outbox.c.envelope["data"]["job_id"].as_string() == str(job["id"])
                    )
                )
            )
            .scalars()
            .all()
        )
    assert row.upload_key.startswith("uploads/") and "Book" not in row.upload_key
    assert [m["type"] for m in messages] == ["translation.plan_job.v1"]
    assert messages[0]["data"]["upload_key"] == row.upload_key
    assert messages[0]["data"]["segment_size"] == 2000


async def test_jobs_are_private_to_their_owner_and_admins(service, internal_signer):
    _, client = service
    created = await client.post("/api/v1/jobs", headers=auth(internal_signer, "carol"), **upload())
    job_id = created.json()["id"]
    assert (
        await client.get(f"/api/v1/jobs/{job_id}", headers=auth(internal_signer, "carol"))
    ).status_code == 200
    other = await client.get(f"/api/v1/jobs/{job_id}", headers=auth(internal_signer, "mallory"))
    assert other.status_code == 404
    admin = await client.get(
        f"/api/v1/jobs/{job_id}", headers=auth(internal_signer, "root", "admin")
    )
    assert admin.status_code == 200
    early = await client.get(f"/api/v1/download/{job_id}", headers=auth(internal_signer, "carol"))
    assert early.status_code == 422
    assert "not completed yet" in early.json()["detail"]
    bad_id = await client.get("/api/v1/jobs/abc", headers=auth(internal_signer, "carol"))
    assert bad_id.status_code == 422


async def test_result_events_are_applied_exactly_once(service, internal_signer):
    app, client = service
    created = await client.post("/api/v1/jobs", headers=auth(internal_signer, "dave"), **upload())
    job_id = created.json()["id"]
    consumer = app.state.runtime.consumers[0]
    database = app.state.database

    await consumer.process(planned(job_id))
    await consumer.process(planned(job_id))  # redelivered: must change nothing
    assert await outbox_types(database, job_id) == [PlanJob.TYPE] + [TranslateSegment.TYPE] * 3
    async with database.transaction() as session:
        count = (
            await session.execute(
                select(func.count()).select_from(Segment).where(Segment.job_id == job_id)
            )
        ).scalar_one()
    assert count == 3

    events = {i: translated(job_id, i) for i in range(3)}
    for index in (2, 0, 2, 1, 1):  # out of order, with duplicates
        await consumer.process(events[index])
    # A second, different result for a stored segment (e.g. two workers raced): its text
    # is ignored, but its call was made (and billed), so it is counted.
    await consumer.process(translated(job_id, 0, text="other"))
    # The usage journal reports the same calls again (and once more, redelivered): each
    # call is stored once, whichever report came first.
    for index in (0, 1, 2, 1):
        await consumer.process(calls_recorded(job_id, index, [call_record(job_id, index)]))
    await consumer.process(calls_recorded(job_id, 0, [call_record(job_id, 0, "other")]))

    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=auth(internal_signer, "dave"))).json()
    assert job["status"] == "PROCESSING" and job["phase"] == "assembling"
    assert job["translated_segments"] == 3
    assert job["usage"] == {
        "calls": 4,
        "input_tokens": 40,
        "output_tokens": 20,
        "thinking_tokens": 0,
        "cached_input_tokens": 0,
        "estimated_tokens": 0,
    }
    async with database.transaction() as session:
        rows = (
            await session.execute(
                select(UsageRecord.call_id, UsageRecord.segment_index).where(
                    UsageRecord.job_id == job_id
                )
            )
        ).all()
    assert sorted(rows) == sorted(
        [(call_record(job_id, i).call_id, i) for i in range(3)]
        + [(call_record(job_id, 0, "other").call_id, 0)]
    )
    types = await outbox_types(database, job_id)
    assert types.count(AssembleJob.TYPE) == 1
    # A late planning failure (the job is long past planning) changes nothing.
    late = JobPlanningFailed(job_id=job_id, reason="too late")
    await consumer.process(Envelope.wrap(late, producer="w").model_dump_json().encode())

    # The worker gets a typed snapshot of what translation-service owns, citing the plan
    # for where each unit goes (no units, no prompt contexts).
    async with database.transaction() as session:
        (assemble,) = (
            await session.execute(
                select(MESSAGING.outbox.c.envelope)
                .where(MESSAGING.outbox.c.message_type == AssembleJob.TYPE)
                .where(MESSAGING.outbox.c.envelope["data"]["job_id"].as_string() == str(job_id))
            )
        ).scalars()
    key = AssembleJob.model_validate(assemble["data"]).translations_key
    snapshot = AssemblySnapshot.load(await app.state.storage.read_bytes(key))
    assert snapshot.plan_key == plan_key_of(job_id)
    assert [s.index for s in snapshot.segments] == [0, 1, 2]
    assert [s.unit_translations for s in snapshot.segments][2] == ["T2a", "T2b"]
    assert snapshot.segments[1].source_text == "source 1"

    outputs = {"txt": "jobs/x/output/translated.txt"}
    assembled = Envelope.wrap(JobAssembled(job_id=job_id, outputs=outputs), producer="w")
    storage = app.state.storage
    await storage.put_bytes("jobs/x/output", b"T0a\n\nT0b\n", name="translated.txt")
    await consumer.process(assembled.model_dump_json().encode())
    await consumer.process(assembled.model_dump_json().encode())
    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=auth(internal_signer, "dave"))).json()
    assert job["status"] == "COMPLETED" and job["progress"] == 100 and job["outputs"] == ["txt"]
    download = await client.get(f"/api/v1/download/{job_id}", headers=auth(internal_signer, "dave"))
    assert download.status_code == 200
    assert download.text == "T0a\n\nT0b\n"
    assert 'filename="book_translated.txt"' in download.headers["content-disposition"]
    missing = await client.get(
        f"/api/v1/download/{job_id}?format=epub", headers=auth(internal_signer, "dave")
    )
    assert missing.status_code == 404
    bad = await client.get(
        f"/api/v1/download/{job_id}?format=pdfx", headers=auth(internal_signer, "dave")
    )
    assert bad.status_code == 422


async def test_a_result_bills_only_its_calls_not_reported_before(service, internal_signer):
    """A result's calls, some already reported by the usage journal: each call is stored,
    counted and published to user-service once, under the job's owner; the segment is
    counted with its event, and finished work is remembered."""
    app, client = service
    created = await client.post("/api/v1/jobs", headers=auth(internal_signer, "erin"), **upload())
    job_id = created.json()["id"]
    consumer = app.state.runtime.consumers[0]
    database = app.state.database
    await consumer.process(planned(job_id, salt="-bills"))
    reported = call_record(job_id, 0)
    fresh = CallRecord(
        phase="translation",
        model="m",
        call_id=f"call-{job_id}-0-retry",
        input_tokens=7,
        output_tokens=3,
        thinking_tokens=2,
    )
    await consumer.process(calls_recorded(job_id, 0, [reported]))  # the journal came first

    def result(index: int, calls: list[CallRecord]) -> bytes:
        event = SegmentTranslated(
            job_id=job_id,
            segment_index=index,
            translated_text=f"T{index}",
            unit_translations=[f"T{index}a", f"T{index}b"],
            model="m",
            fingerprint=f"fp-bills-{job_id}-{index}",
            calls=calls,
        )
        return Envelope.wrap(event, producer="worker-service").model_dump_json().encode()

    await consumer.process(result(0, [reported, fresh]))
    await consumer.process(result(1, [call_record(job_id, 1)]))  # every call new
    await consumer.process(result(1, [call_record(job_id, 1)]))  # a second result: ignored

    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=auth(internal_signer, "erin"))).json()
    assert job["translated_segments"] == 2
    assert job["usage"]["calls"] == 3
    assert job["usage"]["input_tokens"] == 10 + 7 + 10
    assert job["usage"]["output_tokens"] == 5 + 3 + 5
    assert job["usage"]["thinking_tokens"] == 2
    async with database.transaction() as session:
        calls = (
            await session.execute(
                select(UsageRecord.call_id, UsageRecord.owner_id).where(
                    UsageRecord.job_id == job_id
                )
            )
        ).all()
        usage = (
            (
                await session.execute(
                    select(MESSAGING.outbox.c.envelope)
                    .where(MESSAGING.outbox.c.message_type == UsageRecorded.TYPE)
                    .where(MESSAGING.outbox.c.envelope["data"]["job_id"].as_string() == str(job_id))
                    .order_by(MESSAGING.outbox.c.id)
                )
            )
            .scalars()
            .all()
        )
        segment_events = (
            (
                await session.execute(
                    select(JobEvent.data)
                    .where(JobEvent.job_id == job_id, JobEvent.kind == "segment")
                    .order_by(JobEvent.seq)
                )
            )
            .scalars()
            .all()
        )
        remembered = (
            await session.execute(
                select(func.count())
                .select_from(TranslationMemory)
                .where(TranslationMemory.fingerprint.like(f"fp-bills-{job_id}-%"))
            )
        ).scalar_one()
    assert sorted(calls) == sorted(
        (c.call_id, "erin") for c in (reported, fresh, call_record(job_id, 1))
    )
    # The planning's, the journal's, then one per result with only its new calls.
    published = [UsageRecorded.model_validate(e["data"]) for e in usage][-3:]
    assert [(u.user_id, u.calls, u.input_tokens) for u in published] == [
        ("erin", 1, 10),
        ("erin", 1, 7),
        ("erin", 1, 10),
    ]
    assert published[1].output_tokens == 3 + 2  # as billed: reasoning is output
    assert [(e["segment_index"], e["translated_segments"]) for e in segment_events] == [
        (0, 1),
        (1, 2),
    ]
    assert remembered == 2


async def test_concurrent_results_advance_the_window_without_deadlocks(service, internal_signer):
    app, client = service
    created = await client.post("/api/v1/jobs", headers=auth(internal_signer, "ivy"), **upload())
    job_id = created.json()["id"]
    consumer = app.state.runtime.consumers[0]
    await consumer.process(planned(job_id, segments=8))
    assert (await outbox_types(app.state.database, job_id)).count(TranslateSegment.TYPE) == 3
    # Results of one job arrive together (prefetch): each refills the window under the job
    # row lock while the others insert rows that reference the job.
    await asyncio.wait_for(
        asyncio.gather(*(consumer.process(translated(job_id, i)) for i in range(3))), timeout=30
    )
    assert (await outbox_types(app.state.database, job_id)).count(TranslateSegment.TYPE) == 6
    await asyncio.wait_for(
        asyncio.gather(*(consumer.process(translated(job_id, i)) for i in range(3, 8))),
        timeout=30,
    )
    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=auth(internal_signer, "ivy"))).json()
    assert job["translated_segments"] == 8 and job["phase"] == "assembling"
    assert (await outbox_types(app.state.database, job_id)).count(AssembleJob.TYPE) == 1


async def test_dispatch_window_and_spending_cap(service, internal_signer):
    app, client = service
    # 3 segments of ~100 tokens each; a cap of 250 allows two in flight, not the third.
    created = await client.post(
        "/api/v1/jobs", headers=auth(internal_signer, "erin"), **upload(max_tokens=250)
    )
    job_id = created.json()["id"]
    consumer = app.state.runtime.consumers[0]
    await consumer.process(planned(job_id))
    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=auth(internal_signer, "erin"))).json()
    assert job["status"] == "PAUSED"
    assert "spending cap of 250 tokens" in job["status_detail"]
    assert (await outbox_types(app.state.database, job_id)).count(TranslateSegment.TYPE) == 2

    # Results of the in-flight segments still land while paused (15 tokens each).
    await consumer.process(translated(job_id, 0))
    await consumer.process(translated(job_id, 1))
    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=auth(internal_signer, "erin"))).json()
    assert job["status"] == "PAUSED" and job["translated_segments"] == 2

    denied = await client.post(
        f"/api/v1/jobs/{job_id}/resume", headers=auth(internal_signer, "mallory")
    )
    assert denied.status_code == 404
    resumed = await client.post(
        f"/api/v1/jobs/{job_id}/resume",
        headers=auth(internal_signer, "erin"),
        json={"max_tokens": 1000},
    )
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "PROCESSING"
    assert (await outbox_types(app.state.database, job_id)).count(TranslateSegment.TYPE) == 3
    again = await client.post(
        f"/api/v1/jobs/{job_id}/resume", headers=auth(internal_signer, "erin")
    )
    assert again.status_code == 409


async def test_translation_memory_serves_identical_work_without_dispatch(service, internal_signer):
    app, client = service
    consumer = app.state.runtime.consumers[0]
    first = (
        await client.post("/api/v1/jobs", headers=auth(internal_signer, "fay"), **upload())
    ).json()
    await consumer.process(planned(first["id"], segments=1))
    async with app.state.database.transaction() as session:
        fingerprint = (
            await session.execute(select(Segment.fingerprint).where(Segment.job_id == first["id"]))
        ).scalar_one()
    await consumer.process(translated(first["id"], 0, fingerprint=fingerprint))

    # The same owner's next job with the same work: served from memory, no model call.
    second = (
        await client.post("/api/v1/jobs", headers=auth(internal_signer, "fay"), **upload())
    ).json()
    await consumer.process(planned(second["id"], segments=1))
    types = await outbox_types(app.state.database, second["id"])
    assert TranslateSegment.TYPE not in types  # served from memory: no model call
    assert types[-1] == AssembleJob.TYPE
    job = (
        await client.get(f"/api/v1/jobs/{second['id']}", headers=auth(internal_signer, "fay"))
    ).json()
    assert job["translated_segments"] == 1 and job["usage"]["calls"] == 0

    # Another user's job with the same work is translated for them: memory is per owner.
    third = (
        await client.post("/api/v1/jobs", headers=auth(internal_signer, "gus"), **upload())
    ).json()
    await consumer.process(planned(third["id"], segments=1))
    assert TranslateSegment.TYPE in await outbox_types(app.state.database, third["id"])


async def test_commands_cite_the_stored_plan_instead_of_carrying_it(service, internal_signer):
    app, client = service
    consumer = app.state.runtime.consumers[0]
    headers = auth(internal_signer, "jo")
    job_id = (await client.post("/api/v1/jobs", headers=headers, **upload())).json()["id"]
    await consumer.process(planned(job_id, segments=5, salt="-cited"))
    await consumer.process(translated(job_id, 0))  # frees a window slot: 3 from its row

    envelopes = await outbox_envelopes(app.state.database, job_id, TranslateSegment.TYPE)
    commands = [TranslateSegment.model_validate(e["data"]) for e in envelopes]
    assert [c.segment_index for c in commands] == [0, 1, 2, 3]
    for command, envelope in zip(commands, envelopes, strict=True):
        # From the plan in hand (0-2) and from a stored row (3): the same citation.
        assert command.plan_key == plan_key_of(job_id)
        assert command.digest == f"digest-{command.segment_index}-cited"
        sent = json.dumps(envelope)
        assert not any(f"source {i}-cited" in sent for i in range(5))  # no text goes back
    # The memory tells segments apart by their digests.
    assert len({c.fingerprint for c in commands}) == 4


async def test_a_window_is_sent_longest_unit_first_and_the_window_moves_in_book_order(
    service, internal_signer
):
    """The worker starts calls in the order commands arrive, and the longest answer ends
    the window: within the window the segment with the longest unit goes first, while the
    window itself still takes the book's segments in order."""
    app, client = service
    consumer = app.state.runtime.consumers[0]
    headers = auth(internal_signer, "lpt")
    job_id = (await client.post("/api/v1/jobs", headers=headers, **upload())).json()["id"]
    longest = [10, 40, 20, 90, 5]
    await consumer.process(planned(job_id, segments=5, salt="-lpt", longest_units=longest))
    await consumer.process(translated(job_id, 1))  # frees a slot: segment 3 from its row

    envelopes = await outbox_envelopes(app.state.database, job_id, TranslateSegment.TYPE)
    order = [TranslateSegment.model_validate(e["data"]).segment_index for e in envelopes]
    # Window of 3 from the plan: 1 (40), 2 (20), 0 (10); then 3, the next in book order
    # (not 4, and not held back for its long unit).
    assert order == [1, 2, 0, 3]


async def test_a_rerun_larger_than_the_window_is_served_from_memory(service, internal_signer):
    """Segments served from memory take no room in the window: a re-run of a book longer
    than the window is served in full, not stalled after the first window."""
    app, client = service
    consumer = app.state.runtime.consumers[0]
    database = app.state.database
    first = (
        await client.post("/api/v1/jobs", headers=auth(internal_signer, "hal"), **upload())
    ).json()
    book = "-rerun"  # content no other test translated (the memory is shared)
    await consumer.process(planned(first["id"], segments=5, salt=book))  # window of 3
    for index in range(5):
        async with database.transaction() as session:
            fingerprint = (
                await session.execute(
                    select(Segment.fingerprint).where(
                        Segment.job_id == first["id"], Segment.index == index
                    )
                )
            ).scalar_one()
        assert fingerprint, f"segment {index} was never dispatched"
        await consumer.process(translated(first["id"], index, fingerprint=fingerprint))

    again = (
        await client.post("/api/v1/jobs", headers=auth(internal_signer, "hal"), **upload())
    ).json()
    await consumer.process(planned(again["id"], segments=5, salt=book))
    types = await outbox_types(database, again["id"])
    assert TranslateSegment.TYPE not in types
    assert types[-1] == AssembleJob.TYPE
    job = (
        await client.get(f"/api/v1/jobs/{again['id']}", headers=auth(internal_signer, "hal"))
    ).json()
    assert job["translated_segments"] == 5 and job["usage"]["calls"] == 0


async def test_a_failed_segment_fails_the_job_and_its_calls_are_counted(service, internal_signer):
    app, client = service
    headers = auth(internal_signer, "ida")
    job_id = (await client.post("/api/v1/jobs", headers=headers, **upload())).json()["id"]
    consumer = app.state.runtime.consumers[0]
    await consumer.process(planned(job_id, salt="-failing"))
    calls = [
        CallRecord(phase="translation", model="m", input_tokens=40, output_tokens=7),
        CallRecord(phase="translation", model="m", input_tokens=40, output_tokens=0),
        CallRecord(phase="translation", model="m", cached=True, outcome="cache"),
    ]
    failed = SegmentTranslationFailed(
        job_id=job_id, segment_index=1, reason="the safety filter blocked it", calls=calls
    )
    await consumer.process(Envelope.wrap(failed, producer="w").model_dump_json().encode())

    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
    assert job["status"] == "FAILED"
    assert "Segment 1" in job["error_message"] and "safety filter" in job["error_message"]
    # The failed attempts cost tokens: they count (for the spending cap too).
    assert job["usage"] == {
        "calls": 2,
        "input_tokens": 80,
        "output_tokens": 7,
        "thinking_tokens": 0,
        "cached_input_tokens": 0,
        "estimated_tokens": 0,
    }


@pytest.mark.parametrize(
    ("form", "status", "detail_part"),
    [
        ({"glossary_data": "{not json"}, 422, "glossary_data is not valid JSON"),
        ({"glossary_data": "[1, 2]"}, 422, "must be objects"),
        ({"style_data": "[]"}, 422, "style_data must be a JSON object"),
        ({"api_provider": "acme", "api_key": "k"}, 422, "Unsupported provider"),
        (
            {"api_key": "k", "model_name": "gemini-3-pro", "thinking_level": "minimal"},
            422,
            "low or high",
        ),
        ({"api_provider": "vertex"}, 422, "Vertex provider requires JSON payload"),
        ({"turbo_mode": "true", "strict_continuity": "true"}, 422, "cannot be combined"),
        ({"max_tokens": "0"}, 422, "max_tokens"),
    ],
)
async def test_bad_job_options_get_clear_problems(
    service, internal_signer, form, status, detail_part
):
    _, client = service
    response = await client.post("/api/v1/jobs", headers=auth(internal_signer), **upload(**form))
    assert response.status_code == status, response.text
    assert detail_part in response.json()["detail"]


async def test_user_keys_are_sealed_and_glossary_shapes_accepted(
    service, internal_signer, fake_llm_url
):
    app, client = service
    for glossary in (
        '{"Gregor": "그레고르"}',
        '[{"source": "Gregor", "korean": "그레고르"}]',
        '[{"term": "Gregor", "translation": "그레고르"}]',
        '[{"Gregor": "그레고르"}]',
    ):
        response = await client.post(
            "/api/v1/jobs",
            headers=auth(internal_signer, "hal"),
            **upload(
                api_key="AIzaSECRET-key-123",
                backup_api_keys='["AIzaBACKUP-456"]',
                glossary_data=glossary,
                api_base_url=fake_llm_url,  # its key is checked there, live
            ),
        )
        assert response.status_code == 200, response.text
        job_id = response.json()["id"]
        async with app.state.database.transaction() as session:
            row = (await session.execute(select(Job).where(Job.id == job_id))).scalar_one()
            outbox = (
                await session.execute(
                    select(MESSAGING.outbox.c.envelope).where(
                        MESSAGING.outbox.c.envelope["data"]["job_id"].as_string() == str(job_id)
                    )
                )
            ).scalar_one()
        assert row.glossary_input == [
            {
                "term": "Gregor",
                "translation": "그레고르",
                "kind": None,
                "source": "user",
                "note": None,
                "gender": None,
                "do_not_translate": False,
            }
        ]
        assert row.model == "gemini-flash-lite-latest"
        for stored in (row.credentials or "", str(outbox)):
            assert "AIzaSECRET" not in stored and "AIzaBACKUP" not in stored
        opened = app.state.job_deps.sealer.open(outbox["data"]["credentials"])
        assert opened.api_keys == ("AIzaSECRET-key-123", "AIzaBACKUP-456")


async def test_the_progress_stream_coalesces_progress_but_not_status(
    service, internal_signer, monkeypatch
):
    # Progress-only changes wait out the interval; an interval longer than any run means
    # only a status change can cut it short, however slow the machine is.
    monkeypatch.setattr(progress_service, "PROGRESS_INTERVAL_S", 3600.0)
    app, client = service
    headers = auth(internal_signer, "sam")
    created = await client.post("/api/v1/jobs", headers=headers, **upload())
    job_id = created.json()["id"]
    consumer = app.state.runtime.consumers[0]
    watch = app.state.job_progress.watch
    await asyncio.wait_for(watch.listener.connected.wait(), timeout=30)

    async def still_here() -> bool:
        return False

    # The stream's own iterator, read event by event (the HTTP client buffers a stream).
    stream = app.state.job_progress.follow(job_id, still_here)

    async def up_to_the_job() -> tuple[list[str], dict]:
        kinds = []
        async for event in stream:
            kinds.append(event.kind)
            if event.kind == "job":
                return kinds, event.data.model_dump(mode="json")
        raise AssertionError(f"the stream ended after {kinds}")

    kinds, job = await asyncio.wait_for(up_to_the_job(), timeout=30)
    assert (kinds, job["status"]) == (["job"], "PENDING")  # the job as it is
    await consumer.process(planned(job_id))  # a new status: sent at once
    kinds, job = await asyncio.wait_for(up_to_the_job(), timeout=30)
    assert job["status"] == "PROCESSING" and kinds[-1] == "job"
    for index in range(3):  # three progress changes: folded into the next read
        await consumer.process(translated(job_id, index))
    outputs = {"txt": "jobs/x/output/translated.txt"}
    assembled = Envelope.wrap(JobAssembled(job_id=job_id, outputs=outputs), producer="w")
    await consumer.process(assembled.model_dump_json().encode())
    kinds, job = await asyncio.wait_for(up_to_the_job(), timeout=30)
    # Segment events are each sent; the job itself only once more, as it ended.
    assert kinds.count("segment") == 3 and kinds.count("job") == 1, kinds
    assert job["status"] == "COMPLETED" and job["progress"] == 100
    assert [e async for e in stream] == []  # a final job ends the stream
