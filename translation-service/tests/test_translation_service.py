"""translation-service in process: its API rules and its event handlers, on a real
database and a real broker (its own virtual host)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, func, select

from folio.contracts import (
    JobPlanned,
    PlannedSegment,
    SegmentTranslated,
    TokenUsage,
    TranslateSegment,
)
from folio.identity import IDENTITY_HEADER, Identity
from folio.messaging import Envelope
from folio_devstack.pytest_plugin import running_app
from folio_translation.main import create_app
from folio_translation.models import MESSAGING, Job, Segment
from folio_translation.settings import TranslationSettings


@pytest.fixture
async def service(test_database, amqp_vhost, internal_public_key, tmp_path):
    settings = TranslationSettings(
        database_url=test_database.url("translation"),
        rabbitmq_url=amqp_vhost(f"tr-{uuid.uuid4().hex[:6]}"),
        storage_dir=tmp_path / "storage",
        internal_token_public_key=internal_public_key,
        max_upload_bytes=64 * 1024,
        outbox_poll_interval_s=0.2,
    )
    app = create_app(settings)
    async with running_app(app) as client:
        yield app, client


def auth(signer, user_id: str = "alice", role: str = "user") -> dict[str, str]:
    return {IDENTITY_HEADER: signer.sign(Identity(user_id=user_id, role=role))}


def upload(name: str = "book.txt", body: bytes = b"One.\n\nTwo.\n\nThree.", **form):
    return {
        "files": {"file": (name, body, "text/plain")},
        "data": {k: str(v) for k, v in form.items()},
    }


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
                        MESSAGING.outbox.c.envelope["data"]["job_id"].as_integer() == job["id"]
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

    planned = (
        Envelope.wrap(
            JobPlanned(
                job_id=job_id,
                segments=[PlannedSegment(index=i, source_text=f"source {i}") for i in range(3)],
            ),
            producer="worker-service",
        )
        .model_dump_json()
        .encode()
    )
    await consumer.process(planned)
    await consumer.process(planned)  # redelivered: must change nothing

    async with database.transaction() as session:
        segments = (
            await session.execute(
                select(func.count()).select_from(Segment).where(Segment.job_id == job_id)
            )
        ).scalar_one()
        commands = (
            await session.execute(
                select(func.count())
                .select_from(MESSAGING.outbox)
                .where(
                    MESSAGING.outbox.c.message_type == TranslateSegment.TYPE,
                    MESSAGING.outbox.c.envelope["data"]["job_id"].as_integer() == job_id,
                )
            )
        ).scalar_one()
    assert (segments, commands) == (3, 3)

    def translated(index: int) -> bytes:
        return (
            Envelope.wrap(
                SegmentTranslated(
                    job_id=job_id,
                    segment_index=index,
                    translated_text=f"T{index}",
                    model="m",
                    usage=TokenUsage(calls=1, input_tokens=10, output_tokens=5),
                ),
                producer="worker-service",
            )
            .model_dump_json()
            .encode()
        )

    events = {i: translated(i) for i in range(3)}
    for index in (2, 0, 2, 1, 1):  # out of order, with duplicates
        await consumer.process(events[index])
    # A second, different result for an already stored segment (e.g. two workers raced).
    await consumer.process(translated(0))

    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=auth(internal_signer, "dave"))).json()
    assert job["status"] == "COMPLETED"
    assert job["progress"] == 100
    assert job["translated_segments"] == 3
    assert job["usage"] == {
        "calls": 3,
        "input_tokens": 30,
        "output_tokens": 15,
        "thinking_tokens": 0,
    }
    download = await client.get(f"/api/v1/download/{job_id}", headers=auth(internal_signer, "dave"))
    assert download.status_code == 200
    assert download.text == "T0\n\nT1\n\nT2\n"
    assert 'filename="book_translated.txt"' in download.headers["content-disposition"]
    async with database.transaction() as session:
        await session.execute(delete(MESSAGING.outbox))
