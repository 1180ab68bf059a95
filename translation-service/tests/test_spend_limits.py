"""What a job's commands tell the worker to check before every model call: the job's cap
and what it had spent, and, on the deployment's own key only, the owner's daily allowance
under an id that does not name them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from translation_wire import auth, planned, upload

from folio.contracts import (
    AnalysisCallsRecorded,
    CallRecord,
    CallsRecorded,
    JobPlanningPaused,
    PlanJob,
    SegmentPaused,
    TranslateSegment,
    UsageRecorded,
)
from folio.credentials import generate_key
from folio.messaging import Envelope
from folio_devstack.pytest_plugin import running_app
from folio_translation.main import create_app
from folio_translation.models import MESSAGING, Job, UsageRecord
from folio_translation.service.usage import spend_limits
from folio_translation.settings import TranslationSettings


def test_the_daily_allowance_applies_to_the_deployments_key_only() -> None:
    own = Job(owner_id="erin", max_tokens=900, input_tokens=100, output_tokens=20)
    limits = spend_limits(own, 5000)
    assert (limits.max_tokens, limits.spent_tokens) == (900, 120)
    assert limits.quota is not None and limits.quota.tokens_per_day == 5000
    assert "erin" not in limits.quota.holder
    assert spend_limits(Job(owner_id="erin"), 5000).quota.holder == limits.quota.holder
    assert spend_limits(Job(owner_id="frank"), 5000).quota.holder != limits.quota.holder
    with_key = Job(owner_id="erin", credentials="sealed-user-key")
    assert spend_limits(with_key, 5000).quota is None  # the user pays their own provider
    assert spend_limits(own, None).quota is None  # no allowance configured


async def test_a_new_jobs_plan_command_carries_its_limits(
    test_database, module_amqp_url, internal_public_key, internal_signer, tmp_path
):
    settings = TranslationSettings(
        database_url=test_database.url("translation"),
        rabbitmq_url=module_amqp_url,
        storage_dir=tmp_path / "storage",
        internal_token_public_key=internal_public_key,
        user_daily_tokens=20_000,
        outbox_poll_interval_s=0.2,
    )
    app = create_app(settings)
    async with running_app(app) as client:
        created = await client.post(
            "/api/v1/jobs", headers=auth(internal_signer, "gina"), **upload(max_tokens="7000")
        )
        assert created.status_code == 200, created.text
        async with app.state.database.transaction() as session:
            envelopes = (
                (
                    await session.execute(
                        select(MESSAGING.outbox.c.envelope).where(
                            MESSAGING.outbox.c.envelope["type"].as_string() == PlanJob.TYPE
                        )
                    )
                )
                .scalars()
                .all()
            )
    (command,) = [e["data"] for e in envelopes if e["data"]["job_id"] == created.json()["id"]]
    assert command["spend"]["max_tokens"] == 7000
    assert command["spend"]["quota"]["tokens_per_day"] == 20_000
    assert "gina" not in command["spend"]["quota"]["holder"]


async def sent_segments(database, job_id: int) -> list[tuple[int, int]]:
    """(segment, cap) of every TranslateSegment sent for the job, in order."""
    async with database.transaction() as session:
        rows = (
            await session.execute(
                select(MESSAGING.outbox.c.envelope)
                .where(
                    MESSAGING.outbox.c.envelope["data"]["job_id"].as_string() == str(job_id),
                    MESSAGING.outbox.c.message_type == TranslateSegment.TYPE,
                )
                .order_by(MESSAGING.outbox.c.id)
            )
        ).scalars()
        return [(r["data"]["segment_index"], r["data"]["spend"]["max_tokens"]) for r in rows]


def paused_under(job_id: int, index: int, cap: int) -> bytes:
    event = SegmentPaused(
        job_id=job_id,
        segment_index=index,
        reason=f"Paused: the next model call would pass the spending cap of {cap} tokens.",
        max_tokens=cap,
    )
    return Envelope.wrap(event, producer="worker-service").model_dump_json().encode()


async def test_a_refusal_under_a_cap_raised_since_sends_the_segment_again(service, internal_signer):
    app, client = service
    user = f"raiser-{uuid.uuid4().hex[:6]}"
    headers = auth(internal_signer, user)
    created = await client.post("/api/v1/jobs", headers=headers, **upload(max_tokens="1000"))
    assert created.status_code == 200, created.text
    job_id = created.json()["id"]
    consumer = app.state.runtime.consumers[0]
    await consumer.process(planned(job_id, segments=3, salt=uuid.uuid4().hex))
    assert await sent_segments(app.state.database, job_id) == [(0, 1000), (1, 1000), (2, 1000)]

    await consumer.process(paused_under(job_id, 0, 1000))
    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
    assert job["status"] == "PAUSED" and "1000" in job["status_detail"]
    resumed = await client.post(
        f"/api/v1/jobs/{job_id}/resume", headers=headers, json={"max_tokens": 5000}
    )
    assert resumed.status_code < 300, resumed.text
    assert (await sent_segments(app.state.database, job_id))[3:] == [(0, 5000)]

    # Segment 1's command was sent under the old cap and refused after the raise: the job
    # goes on, and the segment is sent again under the raised cap.
    await consumer.process(paused_under(job_id, 1, 1000))
    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
    assert job["status"] == "PROCESSING", job
    assert (await sent_segments(app.state.database, job_id))[4:] == [(1, 5000)]

    # A refusal under the job's current cap still pauses it.
    await consumer.process(paused_under(job_id, 2, 5000))
    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
    assert job["status"] == "PAUSED" and "5000" in job["status_detail"]


async def sent_plan_caps(database, job_id: int) -> list[int | None]:
    """The cap of every PlanJob sent for the job, in order."""
    async with database.transaction() as session:
        rows = (
            await session.execute(
                select(MESSAGING.outbox.c.envelope)
                .where(
                    MESSAGING.outbox.c.envelope["data"]["job_id"].as_string() == str(job_id),
                    MESSAGING.outbox.c.message_type == PlanJob.TYPE,
                )
                .order_by(MESSAGING.outbox.c.id)
            )
        ).scalars()
        return [r["data"]["spend"]["max_tokens"] for r in rows]


def planning_paused_under(job_id: int, cap: int) -> bytes:
    event = JobPlanningPaused(
        job_id=job_id,
        reason=f"Paused before the analysis: the spending cap is {cap} tokens.",
        max_tokens=cap,
    )
    return Envelope.wrap(event, producer="worker-service").model_dump_json().encode()


async def test_a_planning_refusal_under_a_cap_raised_since_does_not_pause_the_job(
    service, internal_signer
):
    app, client = service
    user = f"planner-{uuid.uuid4().hex[:6]}"
    headers = auth(internal_signer, user)
    created = await client.post("/api/v1/jobs", headers=headers, **upload(max_tokens="1000"))
    assert created.status_code == 200, created.text
    job_id = created.json()["id"]
    consumer = app.state.runtime.consumers[0]
    await consumer.process(planning_paused_under(job_id, 1000))
    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
    assert job["status"] == "PAUSED" and "1000" in job["status_detail"]
    resumed = await client.post(
        f"/api/v1/jobs/{job_id}/resume", headers=headers, json={"max_tokens": 5000}
    )
    assert resumed.status_code < 300, resumed.text
    assert await sent_plan_caps(app.state.database, job_id) == [1000, 5000]

    # The first plan command, run again (a redelivery) after the raise, is refused under the
    # old cap: the job goes on planning under the raised one, and is not planned twice.
    await consumer.process(planning_paused_under(job_id, 1000))
    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
    assert job["status"] == "PENDING", job
    assert await sent_plan_caps(app.state.database, job_id) == [1000, 5000]
    await consumer.process(planned(job_id, segments=2, salt=uuid.uuid4().hex))
    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
    assert job["status"] == "PROCESSING" and job["total_segments"] == 2, job

    # A refusal under the job's current cap still pauses it.
    again = await client.post("/api/v1/jobs", headers=headers, **upload(max_tokens="1000"))
    await consumer.process(planning_paused_under(again.json()["id"], 1000))
    job = (await client.get(f"/api/v1/jobs/{again.json()['id']}", headers=headers)).json()
    assert job["status"] == "PAUSED" and "1000" in job["status_detail"]


def journaled(job_id: int, tokens: int) -> bytes:
    """What the worker's usage journal reports for a job's call."""
    call = CallRecord(
        phase="translation",
        model="gpt-4o-mini",
        call_id=uuid.uuid4().hex,
        input_tokens=tokens - 100,
        output_tokens=100,
    )
    event = CallsRecorded(job_id=job_id, segment_index=0, calls=[call])
    return Envelope.wrap(event, producer="worker-service").model_dump_json().encode()


async def test_work_on_the_deployments_key_is_refused_up_front_once_the_allowance_is_spent(
    test_database, module_amqp_url, internal_public_key, internal_signer, tmp_path
):
    settings = TranslationSettings(
        database_url=test_database.url("translation"),
        rabbitmq_url=module_amqp_url,
        storage_dir=tmp_path / "storage",
        internal_token_public_key=internal_public_key,
        credentials_key=generate_key(),
        user_daily_tokens=1000,
        analysis_timeout_s=1.0,
        outbox_poll_interval_s=0.2,
    )
    app = create_app(settings)
    user = f"spender-{uuid.uuid4().hex[:6]}"
    headers = auth(internal_signer, user)
    async with running_app(app) as client:
        first = await client.post("/api/v1/jobs", headers=headers, **upload())
        assert first.status_code == 200, first.text
        consumer = app.state.runtime.consumers[0]
        await consumer.process(journaled(first.json()["id"], 600))
        # 400 left: still accepted (the worker checks each call against what is left).
        second = await client.post("/api/v1/jobs", headers=headers, **upload())
        assert second.status_code == 200, second.text
        await consumer.process(journaled(second.json()["id"], 450))

        refused = await client.post("/api/v1/jobs", headers=headers, **upload())
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["daily_tokens"] == 1000 and problem["used_tokens"] == 1050
        assert problem["remaining_tokens"] == 0
        renews = datetime.fromisoformat(problem["resets_at"].replace("Z", "+00:00"))
        now = datetime.now(UTC)
        assert renews.time() == time(0) and now < renews <= now + timedelta(days=1)
        assert 0 < int(refused.headers["Retry-After"]) <= 86400
        assert "00:00 UTC" in problem["detail"] and "own API key" in problem["detail"]
        # The analysis routes on the deployment's key too, before the worker is asked.
        for kind in ("style", "glossary", "characters"):
            analysis = await client.post(f"/api/v1/analysis/{kind}", headers=headers, **upload())
            assert analysis.status_code == 429, analysis.text
            assert analysis.json()["remaining_tokens"] == 0
        # Another user's allowance is theirs.
        other = await client.post(
            "/api/v1/jobs", headers=auth(internal_signer, user + "-b"), **upload()
        )
        assert other.status_code == 200, other.text
        # Usage on a user's own key is not the deployment's: a job on one spends nothing
        # of the allowance.
        async with app.state.database.transaction() as session:
            job = await session.get(Job, other.json()["id"])
            job.credentials = "sealed-user-key"
        await consumer.process(journaled(other.json()["id"], 5000))
        again = await client.post(
            "/api/v1/jobs", headers=auth(internal_signer, user + "-b"), **upload()
        )
        assert again.status_code == 200, again.text


async def test_a_job_says_how_much_of_its_usage_is_estimated(service, internal_signer):
    """A call whose answer was never seen is counted at its reservation and flagged; the
    job's usage shows that part apart, so a user can tell the provider's figures from
    Folio's estimate. A journal that reports the same call again changes nothing."""
    app, client = service
    user = f"estimated-{uuid.uuid4().hex[:6]}"
    headers = auth(internal_signer, user)
    created = await client.post("/api/v1/jobs", headers=headers, **upload())
    assert created.status_code == 200, created.text
    job_id = created.json()["id"]
    consumer = app.state.runtime.consumers[0]
    await consumer.process(planned(job_id, segments=2, salt=uuid.uuid4().hex))

    answered = CallRecord(
        phase="translation",
        model="m",
        call_id=uuid.uuid4().hex,
        input_tokens=40,
        output_tokens=10,
        thinking_tokens=5,
    )
    lost = CallRecord(
        phase="translation",
        model="m",
        call_id=uuid.uuid4().hex,
        input_tokens=300,
        output_tokens=700,
        outcome="lost",
        estimated=True,
    )
    for _ in range(2):
        event = CallsRecorded(job_id=job_id, segment_index=0, calls=[answered, lost])
        await consumer.process(
            Envelope.wrap(event, producer="worker-service").model_dump_json().encode()
        )
    usage = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()["usage"]
    assert usage["calls"] == 2
    assert usage["input_tokens"] == 340 and usage["output_tokens"] == 710
    assert usage["estimated_tokens"] == 1000


def analysis_journaled(owner_id: str, calls: list[CallRecord], *, allowance: bool) -> bytes:
    """What the worker's usage journal reports for an analysis without a job."""
    event = AnalysisCallsRecorded(owner_id=owner_id, allowance=allowance, calls=calls)
    return Envelope.wrap(event, producer="worker-service").model_dump_json().encode()


async def test_an_analysis_reported_by_the_journal_is_stored_once_against_the_allowance(
    test_database, module_amqp_url, internal_public_key, internal_signer, tmp_path
):
    """The worker died mid-analysis or its deadline came: no reply, but the journal
    reports the calls, as the caller's; stored once however often they are reported."""
    settings = TranslationSettings(
        database_url=test_database.url("translation"),
        rabbitmq_url=module_amqp_url,
        storage_dir=tmp_path / "storage",
        internal_token_public_key=internal_public_key,
        credentials_key=generate_key(),
        user_daily_tokens=1000,
        outbox_poll_interval_s=0.2,
    )
    app = create_app(settings)
    user = f"analyst-{uuid.uuid4().hex[:6]}"
    headers = auth(internal_signer, user)

    def call(input_tokens: int, output_tokens: int, **fields) -> CallRecord:  # type: ignore[no-untyped-def]
        return CallRecord(
            phase="analysis",
            model="gpt-4o-mini",
            call_id=uuid.uuid4().hex,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            **fields,
        )

    answered, lost = call(500, 100), call(300, 200, outcome="lost", estimated=True)
    async with running_app(app) as client:
        consumer = app.state.runtime.consumers[0]
        report = analysis_journaled(user, [answered, lost], allowance=True)
        await consumer.process(report)
        await consumer.process(report)  # redelivered
        # Relayed again (another message), one call also in a later report: still once.
        await consumer.process(analysis_journaled(user, [lost], allowance=True))
        # On the caller's own key: recorded, but none of the allowance.
        own = call(4000, 1000)
        await consumer.process(analysis_journaled(user, [own], allowance=False))
        async with app.state.database.transaction() as session:
            rows = (
                await session.execute(
                    select(UsageRecord.call_id, UsageRecord.job_id, UsageRecord.allowance).where(
                        UsageRecord.owner_id == user
                    )
                )
            ).all()
            published = (
                await session.execute(
                    select(MESSAGING.outbox.c.envelope).where(
                        MESSAGING.outbox.c.message_type == UsageRecorded.TYPE,
                        MESSAGING.outbox.c.envelope["data"]["user_id"].as_string() == user,
                    )
                )
            ).all()
        assert sorted(rows) == sorted(
            [(answered.call_id, None, True), (lost.call_id, None, True), (own.call_id, None, False)]
        )
        # The dashboard hears of each call once (one event per batch of new calls).
        assert sum(envelope["data"]["calls"] for (envelope,) in published) == 3
        # 1100 tokens of the allowance of 1000 spent: the next work on the deployment's
        # key is refused up front.
        refused = await client.post("/api/v1/analysis/style", headers=headers, **upload())
        assert refused.status_code == 429, refused.text
        assert refused.json()["used_tokens"] == 1100
