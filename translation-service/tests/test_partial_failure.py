"""Marked passages, re-translating chosen segments, resuming failed jobs and the scope of
reused work, in process (real database, real broker; the worker's events as it sends them)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from test_jobs_api import sse_events
from translation_wire import auth, planned, upload

from folio.contracts import (
    AssembleJob,
    CallRecord,
    JobAssembled,
    SegmentTranslated,
    SegmentTranslationFailed,
    TranslateSegment,
    UnitFailure,
)
from folio.messaging import Envelope
from folio_translation.models import MESSAGING

FAILURE = UnitFailure(unit=1, check="untranslated", reason="still English", attempts=3)


def wire(event) -> bytes:  # type: ignore[no-untyped-def]
    return Envelope.wrap(event, producer="worker-service").model_dump_json().encode()


def result(job_id: int, index: int, *, failures: list[UnitFailure] = ()) -> bytes:  # type: ignore[assignment]
    units = [f"T{index}a", "[untranslated] source" if failures else f"T{index}b"]
    return wire(
        SegmentTranslated(
            job_id=job_id,
            segment_index=index,
            translated_text="\n\n".join(units),
            unit_translations=units,
            model="m",
            fingerprint=f"fp-{uuid.uuid4().hex}",
            unit_failures=list(failures),
            calls=[CallRecord(phase="translation", model="m", input_tokens=10, output_tokens=5)],
        )
    )


async def commands(database, job_id: int, kind: type) -> list[dict]:
    async with database.transaction() as session:
        rows = (
            await session.execute(
                select(MESSAGING.outbox.c.envelope)
                .where(
                    MESSAGING.outbox.c.envelope["data"]["job_id"].as_string() == str(job_id),
                    MESSAGING.outbox.c.message_type == kind.TYPE,
                )
                .order_by(MESSAGING.outbox.c.id)
            )
        ).scalars()
        return [row["data"] for row in rows]


async def new_job(client, signer, user: str) -> dict:
    response = await client.post("/api/v1/jobs", headers=auth(signer, user), **upload())
    assert response.status_code == 200, response.text
    return response.json()


async def completed_with_a_marked_segment(app, client, signer, user: str) -> dict:
    job = await new_job(client, signer, user)
    consumer = app.state.runtime.consumers[0]
    await consumer.process(planned(job["id"], segments=3, salt=uuid.uuid4().hex))
    for index in range(3):
        failures = [FAILURE] if index == 1 else []
        await consumer.process(result(job["id"], index, failures=failures))
    await consumer.process(wire(JobAssembled(job_id=job["id"], outputs={"txt": "k"})))
    return (await client.get(f"/api/v1/jobs/{job['id']}", headers=auth(signer, user))).json()


async def test_a_marked_segment_is_listed_and_retranslated_alone(service, internal_signer):
    app, client = service
    user = f"marked-{uuid.uuid4().hex[:6]}"
    headers = auth(internal_signer, user)
    job = await completed_with_a_marked_segment(app, client, internal_signer, user)
    assert job["status"] == "COMPLETED"
    assert job["failed_segments"] == [1]
    assert job["segment_failures"][0]["units"] == [FAILURE.model_dump()]
    page = (await client.get(f"/api/v1/jobs/{job['id']}/segments", headers=headers)).json()
    assert [s["failed"] for s in page["segments"]] == [False, True, False]

    sent_before = len(await commands(app.state.database, job["id"], TranslateSegment))
    response = await client.post(
        f"/api/v1/jobs/{job['id']}/segments/retranslate", headers=headers, json={"filter": "failed"}
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"job_id": job["id"], "status": "PROCESSING", "segment_indices": [1]}
    sent = (await commands(app.state.database, job["id"], TranslateSegment))[sent_before:]
    # Only that segment, reusing its good unit's cached answer (no refresh).
    assert [(c["segment_index"], c["refresh"]) for c in sent] == [(1, False)]
    during = (await client.get(f"/api/v1/jobs/{job['id']}", headers=headers)).json()
    assert during["translated_segments"] == 2 and during["progress"] < 100
    assert during["completed_at"] is None  # complete again only once its files are rebuilt

    consumer = app.state.runtime.consumers[0]
    assembled_before = len(await commands(app.state.database, job["id"], AssembleJob))
    await consumer.process(result(job["id"], 1))
    assert len(await commands(app.state.database, job["id"], AssembleJob)) == assembled_before + 1
    await consumer.process(wire(JobAssembled(job_id=job["id"], outputs={"txt": "k2"})))
    after = (await client.get(f"/api/v1/jobs/{job['id']}", headers=headers)).json()
    assert after["status"] == "COMPLETED" and after["failed_segments"] == []
    # completed_at is the latest completion: when the files now served were built.
    assert datetime.fromisoformat(after["completed_at"]) > datetime.fromisoformat(
        job["completed_at"]
    )
    page = (await client.get(f"/api/v1/jobs/{job['id']}/segments", headers=headers)).json()
    assert page["completed_at"] == after["completed_at"]
    assert after["translated_segments"] == 3 and after["progress"] == 100

    # A segment without marked units, chosen by index, is translated afresh.
    chosen = await client.post(
        f"/api/v1/jobs/{job['id']}/segments/retranslate",
        headers=headers,
        json={"segment_indices": [2, 0]},
    )
    assert chosen.status_code == 202 and chosen.json()["segment_indices"] == [0, 2]
    sent = (await commands(app.state.database, job["id"], TranslateSegment))[sent_before + 1 :]
    assert sorted((c["segment_index"], c["refresh"]) for c in sent) == [(0, True), (2, True)]


async def test_the_job_list_and_the_event_stream_say_which_segments_are_marked(
    service, internal_signer
):
    app, client = service
    user = f"lister-{uuid.uuid4().hex[:6]}"
    headers = auth(internal_signer, user)
    clean = await new_job(client, internal_signer, user)
    job = await completed_with_a_marked_segment(app, client, internal_signer, user)
    assert (job["failed_segments"], job["failed_units"]) == ([1], 1)

    rows = {r["id"]: r for r in (await client.get("/api/v1/jobs", headers=headers)).json()}
    assert (rows[job["id"]]["failed_segments"], rows[job["id"]]["failed_units"]) == ([1], 1)
    assert (rows[clean["id"]]["failed_segments"], rows[clean["id"]]["failed_units"]) == ([], 0)

    stream = await client.get(
        f"/api/v1/jobs/{job['id']}/events", headers={**headers, "Last-Event-ID": "0"}
    )
    events = sse_events(stream.text)
    marked = {d["segment_index"]: d["failed_units"] for _, k, d in events if k == "segment"}
    assert marked == {0: 0, 1: 1, 2: 0}
    final = events[-1][2]
    assert events[-1][1] == "job" and final["status"] == "COMPLETED"
    assert (final["failed_segments"], final["failed_units"]) == ([1], 1)
    assert final["segment_failures"][0]["units"] == [FAILURE.model_dump()]

    # Translated again without a mark: its new event says so, and the job lists none.
    seen = max(i for i, kind, _ in events if kind != "job")
    retranslated = await client.post(
        f"/api/v1/jobs/{job['id']}/segments/retranslate", headers=headers, json={"filter": "failed"}
    )
    assert retranslated.status_code == 202, retranslated.text
    consumer = app.state.runtime.consumers[0]
    await consumer.process(result(job["id"], 1))
    await consumer.process(wire(JobAssembled(job_id=job["id"], outputs={"txt": "k2"})))
    later = sse_events(
        (
            await client.get(
                f"/api/v1/jobs/{job['id']}/events", headers={**headers, "Last-Event-ID": str(seen)}
            )
        ).text
    )
    assert [d["failed_units"] for _, k, d in later if k == "segment"] == [0]
    assert later[-1][2]["failed_segments"] == [] and later[-1][2]["failed_units"] == 0
    rows = {r["id"]: r for r in (await client.get("/api/v1/jobs", headers=headers)).json()}
    assert rows[job["id"]]["failed_segments"] == [] and rows[job["id"]]["failed_units"] == 0


async def test_retranslate_refuses_what_it_cannot_do(service, internal_signer):
    app, client = service
    user = f"picky-{uuid.uuid4().hex[:6]}"
    headers = auth(internal_signer, user)
    job = await completed_with_a_marked_segment(app, client, internal_signer, user)
    url = f"/api/v1/jobs/{job['id']}/segments/retranslate"

    anonymous = await client.post(url, json={"filter": "failed"})
    assert anonymous.status_code == 401
    stranger = await client.post(
        url, headers=auth(internal_signer, "someone-else"), json={"filter": "failed"}
    )
    assert stranger.status_code == 404
    for body in (
        {},
        {"filter": "failed", "segment_indices": [0]},
        {"filter": "everything"},
        {"check": "spelling"},
        {"segment_indices": [3]},
        {"segment_indices": []},
        {"chapters": {"first": 2, "last": 1}},
        {"chapters": {"first": 5, "last": 9}},  # matches nothing
        {"check": "safety"},  # no unit was marked by it
        {"segments": [0]},  # not a field
    ):
        refused = await client.post(url, headers=headers, json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    by_check = await client.post(url, headers=headers, json={"check": "untranslated"})
    assert by_check.status_code == 202 and by_check.json()["segment_indices"] == [1]
    busy = await client.post(url, headers=headers, json={"filter": "failed"})
    assert busy.status_code == 409  # it is translating again, not completed
    pending = await new_job(client, internal_signer, user)
    early = await client.post(
        f"/api/v1/jobs/{pending['id']}/segments/retranslate",
        headers=headers,
        json={"chapters": {"first": 0, "last": 0}},
    )
    assert early.status_code == 409


async def test_a_failed_job_resumes_sending_only_its_failed_segments(service, internal_signer):
    app, client = service
    user = f"resumer-{uuid.uuid4().hex[:6]}"
    headers = auth(internal_signer, user)
    job = await new_job(client, internal_signer, user)
    consumer = app.state.runtime.consumers[0]
    await consumer.process(planned(job["id"], segments=3, salt=uuid.uuid4().hex))
    await consumer.process(result(job["id"], 0))
    failed = SegmentTranslationFailed(
        job_id=job["id"], segment_index=1, reason="the model kept failing (server error 500)"
    )
    await consumer.process(wire(failed))
    await consumer.process(result(job["id"], 2))  # in flight when it failed: still stored
    state = (await client.get(f"/api/v1/jobs/{job['id']}", headers=headers)).json()
    assert state["status"] == "FAILED" and "Segment 1" in state["error_message"]

    sent_before = len(await commands(app.state.database, job["id"], TranslateSegment))
    resumed = await client.post(f"/api/v1/jobs/{job['id']}/resume", headers=headers)
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "PROCESSING" and resumed.json()["error_message"] is None
    sent = (await commands(app.state.database, job["id"], TranslateSegment))[sent_before:]
    assert [c["segment_index"] for c in sent] == [1]  # finished segments are not sent again
    await consumer.process(result(job["id"], 1))
    await consumer.process(wire(JobAssembled(job_id=job["id"], outputs={"txt": "k"})))
    done = (await client.get(f"/api/v1/jobs/{job['id']}", headers=headers)).json()
    assert done["status"] == "COMPLETED" and done["translated_segments"] == 3
    again = await client.post(f"/api/v1/jobs/{job['id']}/resume", headers=headers)
    assert again.status_code == 409


async def test_reused_work_is_scoped_to_one_owner(service, internal_signer):
    """The same book for two users: their commands carry different reuse scopes and
    fingerprints, so neither's memory or cached answers can serve the other."""
    app, client = service
    salt = uuid.uuid4().hex
    consumer = app.state.runtime.consumers[0]
    seen = {}
    for user in (f"ann-{salt[:6]}", f"bob-{salt[:6]}", f"ann-{salt[:6]}"):
        job = await new_job(client, internal_signer, user)
        await consumer.process(planned(job["id"], segments=1, salt=salt))
        (command,) = await commands(app.state.database, job["id"], TranslateSegment)
        seen.setdefault(user, set()).add((command["reuse_scope"], command["fingerprint"]))
    ann, bob = seen.values()
    assert len(ann) == 1  # one user's jobs share their work
    assert ann.isdisjoint(bob)
    assert next(iter(ann))[0] != next(iter(bob))[0]
