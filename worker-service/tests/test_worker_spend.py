"""Honest spend in the worker, against the fake LLM over HTTP and a real Redis: the cap and
the daily allowance are checked before every call (retries, re-asked answers and
invalid-JSON loops included), shared by replicas; every call the provider answered is
reported once, with what the provider said it cost; a deferred command leaves nothing
running behind it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel, SecretStr

from folio.contracts import (
    AnalyseBook,
    BookAnalysisFailed,
    CallRecord,
    CallsRecorded,
    DailyQuota,
    JobPlan,
    PlannedUnit,
    SegmentPaused,
    SegmentPlan,
    SegmentTranslated,
    SpendLimits,
    TranslateSegment,
    UnitPiece,
)
from folio.messaging import Defer, Delivery, Envelope, Publisher
from folio.storage import LocalStorage
from folio_worker.analysing import BookAnalyst
from folio_worker.clients import ClientFactory
from folio_worker.deps import WorkerDeps
from folio_worker.engine.calls import MemoryCache, current_collector
from folio_worker.engine.isolation import DocumentProcessor
from folio_worker.engine.journal import UsageJournal
from folio_worker.engine.spend import RedisLedger
from folio_worker.llm import InProcessRateLimiter
from folio_worker.llm.errors import SpendRefused
from folio_worker.llm.transport import AiohttpTransport
from folio_worker.redis_client import connect_redis
from folio_worker.settings import WorkerSettings
from folio_worker.translating import SegmentWorker

REDIS_URL = "redis://127.0.0.1:6379/0"


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list = []

    async def publish(self, message, *, message_id=None, correlation_id=None):  # type: ignore[no-untyped-def]
        self.published.append(message)


class Replicas:
    """Worker replicas sharing one Redis ledger (each its own clients and key pool)."""

    def __init__(self, settings, storage, http, ledger, publisher, journal) -> None:  # type: ignore[no-untyped-def]
        self.settings, self.storage, self.http = settings, storage, http
        self.ledger, self.publisher, self.journal = ledger, publisher, journal

    def deps(self) -> WorkerDeps:
        clients = ClientFactory(self.settings, self.http, InProcessRateLimiter(), MemoryCache())
        return WorkerDeps(
            self.settings,
            self.storage,
            self.publisher,
            clients,
            None,  # type: ignore[arg-type]  # no document work here
            spend=self.ledger,
            journal=self.journal,
        )

    def worker(self) -> SegmentWorker:
        return SegmentWorker(self.deps())

    async def reported(self) -> list[CallRecord]:
        """Every paid call reported, as translation-service stores them: once per call id,
        from the results and from what the journal relayed (drained here)."""
        await self.journal.stop()
        calls: dict[str | None, CallRecord] = {}
        for event in self.publisher.published:
            for call in getattr(event, "calls", []):
                if not call.cached:
                    calls.setdefault(call.call_id, call)
        return list(calls.values())


@pytest.fixture
async def replicas(tmp_path: Path, fake_llm_url: str, redis_prefix: str):  # type: ignore[no-untyped-def]
    settings = WorkerSettings(
        storage_dir=tmp_path,
        llm_provider="openai",
        llm_base_url=fake_llm_url + "/v1",
        llm_api_key=SecretStr(f"key-{tmp_path.name}"),
        llm_max_wait_s=5.0,
        llm_max_attempts=6,
        unit_concurrency=4,
    )
    http = AiohttpTransport(timeout_s=30)
    redis = connect_redis(REDIS_URL)
    publisher = RecordingPublisher()
    journal = UsageJournal(publisher)  # type: ignore[arg-type]
    yield Replicas(
        settings,
        LocalStorage(tmp_path),
        http,
        RedisLedger(redis, prefix=f"{redis_prefix}:spend"),
        publisher,
        journal,
    )
    await http.aclose()
    await redis.aclose()


def units(texts: list[str]) -> SegmentPlan:
    return SegmentPlan(
        units=[
            PlannedUnit(index=i, text=t, pieces=[UnitPiece(block=i, part=0, parts=1)])
            for i, t in enumerate(texts)
        ]
    )


async def segment_command(
    replicas: Replicas, job_id: int, plans: dict[int, SegmentPlan], index: int, **fields
) -> TranslateSegment:
    key = await replicas.worker().deps.plans.save(JobPlan(job_id=job_id, segments=plans))
    return TranslateSegment(
        job_id=job_id,
        segment_index=index,
        target_language="ko",
        model="gpt-4o-mini",
        plan_key=key,
        digest=plans[index].digest(),
        **fields,
    )


def delivery(command: TranslateSegment) -> Delivery:
    return Delivery(Envelope.wrap(command, producer="translation-service"), None, 0)


async def served(fake: str, tag: str) -> list[dict]:
    async with httpx.AsyncClient(base_url=fake) as client:
        rows = (await client.get("/_fake/requests")).json()
    rows = rows["requests"] if isinstance(rows, dict) else rows
    return [r for r in rows if tag in r["prompt"]]


def billed(row: dict) -> int:
    return row["prompt_tokens"] + row["completion_tokens"] + row["thought_tokens"]


def paragraph(tag: str, n: int, extra: str = "") -> str:
    return (
        f"{tag} part {n}. Gregor Samsa woke one morning from troubled dreams and found "
        f"himself changed in his bed into a monstrous insect; the rain beat on the window "
        f"and the clerk waited in the hall. {extra}"
    ).strip()


async def test_the_cap_holds_across_replicas_with_retries_and_re_asked_answers(
    replicas: Replicas, fake_llm_url: str
) -> None:
    tag = f"cap{uuid.uuid4().hex[:8]}"
    faults = ["[[fake:500*2]]", "[[fake:echo*2]]", "", "[[fake:500*1]]", "", ""]
    plans = {s: units([paragraph(tag, 10 * s + i, faults[i]) for i in range(6)]) for s in range(2)}
    cap = 2400  # far less than the two segments need: the job must pause, not overspend
    limits = SpendLimits(max_tokens=cap, spent_tokens=100)
    commands = [await segment_command(replicas, 41, plans, s, spend=limits) for s in range(2)]
    # Two replicas, one segment each, at the same time: one shared ledger.
    await asyncio.gather(*(replicas.worker().translate_segment(c, delivery(c)) for c in commands))

    results = [e for e in replicas.publisher.published if not isinstance(e, CallsRecorded)]
    assert {type(e) for e in results} == {SegmentPaused}
    assert all("spending cap of 2400 tokens" in e.reason for e in results)
    assert {e.max_tokens for e in results} == {cap}  # the cap they were refused under
    rows = await served(fake_llm_url, tag)
    assert len(rows) >= 4  # calls were made, retries among them, then the cap stopped it
    assert any(r["outcome"] != "ok" for r in rows)
    assert 100 + sum(billed(r) for r in rows) <= cap

    # Every call the fake answered is reported once, with the fake's own counts.
    reported = await replicas.reported()
    assert None not in {c.call_id for c in reported}
    assert sorted((c.input_tokens, c.output_tokens) for c in reported) == sorted(
        (r["prompt_tokens"], r["completion_tokens"]) for r in rows
    )
    # The results carried them: the journal had nothing left to relay.
    assert not [e for e in replicas.publisher.published if isinstance(e, CallsRecorded)]


class Notes(BaseModel):
    summary: str
    names: list[str]


async def test_an_invalid_json_loop_stops_at_the_cap(replicas: Replicas, fake_llm_url: str) -> None:
    tag = f"json{uuid.uuid4().hex[:8]}"
    deps = replicas.deps()
    caller = deps.clients.caller("gpt-4o-mini", None)
    prompt = f"Summarise ({tag}) [[fake:malformed-json]] " + paragraph(tag, 0) * 3
    cap = 700
    collector = deps.collector("analysis", 42, SpendLimits(max_tokens=cap))
    token = current_collector.set(collector)
    try:
        with pytest.raises(SpendRefused, match="spending cap"):
            await caller.structured(prompt, Notes)
    finally:
        current_collector.reset(token)
    rows = await served(fake_llm_url, tag)
    assert 2 <= len(rows) < 6  # the client would have tried 6 times
    assert all(r["outcome"] != "ok" or r["structured"] for r in rows)
    assert sum(billed(r) for r in rows) <= cap
    assert [c.outcome for c in collector.records] == ["invalid_json"] * len(rows)


async def test_the_daily_allowance_is_shared_by_a_users_jobs_only(
    replicas: Replicas, fake_llm_url: str
) -> None:
    tag = f"quota{uuid.uuid4().hex[:8]}"
    holder = uuid.uuid4().hex
    allowance = SpendLimits(quota=DailyQuota(holder=holder, tokens_per_day=1500))
    other = SpendLimits(quota=DailyQuota(holder=uuid.uuid4().hex, tokens_per_day=1500))
    plans = {0: units([paragraph(tag, i) for i in range(4)])}
    mine = [await segment_command(replicas, job, plans, 0, spend=allowance) for job in (51, 52)]
    theirs = await segment_command(
        replicas, 53, {0: units([paragraph(tag + "x", 0)])}, 0, spend=other
    )
    for command in (*mine, theirs):
        await replicas.worker().translate_segment(command, delivery(command))

    by_job = {e.job_id: e for e in replicas.publisher.published if not isinstance(e, CallsRecorded)}
    paused = [by_job[51], by_job[52]]
    assert any(isinstance(e, SegmentPaused) for e in paused)
    reason = next(e.reason for e in paused if isinstance(e, SegmentPaused))
    assert "daily allowance of 1500 tokens" in reason and "00:00 UTC" in reason
    assert all(e.max_tokens is None for e in paused if isinstance(e, SegmentPaused))
    assert isinstance(by_job[53], SegmentTranslated)  # another user's allowance is theirs
    mine_rows = [r for r in await served(fake_llm_url, tag) if tag + "x" not in r["prompt"]]
    assert sum(billed(r) for r in mine_rows) <= 1500


async def test_a_deferred_segment_leaves_no_call_behind(
    replicas: Replicas, fake_llm_url: str
) -> None:
    tag = f"defer{uuid.uuid4().hex[:8]}"
    texts = [paragraph(tag, 0, "[[fake:slow=0.6]] [[fake:429:retry=900]]")] + [
        paragraph(tag, i, "[[fake:slow=0.6]]") for i in range(1, 8)
    ]
    command = await segment_command(replicas, 61, {0: units(texts)}, 0)
    worker = replicas.worker()
    before = len(asyncio.all_tasks())
    with pytest.raises(Defer):
        await worker.translate_segment(command, delivery(command))
    # Nothing of the command is still running, at the fake or here.
    assert len(asyncio.all_tasks()) == before
    async with httpx.AsyncClient(base_url=fake_llm_url) as client:
        assert (await client.get("/_fake/stats")).json()["in_flight"] == 0
    rows = await served(fake_llm_url, tag)
    reported = await replicas.reported()
    assert len(reported) == len(rows)  # every call that went out is accounted for
    assert "429" in {c.outcome for c in reported}
    await asyncio.sleep(1.0)
    assert len(await served(fake_llm_url, tag)) == len(rows)  # and none went out since


class RecordingBroker:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def publish(self, body: bytes, **options) -> None:  # type: ignore[no-untyped-def]
        self.sent.append(body)


async def test_an_analysis_on_the_deployments_key_is_paid_against_the_daily_allowance(
    replicas: Replicas, fake_llm_url: str
) -> None:
    tag = f"allow{uuid.uuid4().hex[:8]}"

    async def book():  # type: ignore[no-untyped-def]
        yield "\n\n".join(paragraph(tag, i) for i in range(40)).encode()

    blob = await replicas.storage.put_stream("analysis", book(), max_bytes=1 << 20)
    broker = RecordingBroker()
    deps = replicas.deps()
    deps.publisher = Publisher(broker, "worker-service")  # type: ignore[arg-type]
    deps.documents = DocumentProcessor()
    await deps.documents.start()
    allowance = 900
    asked = AnalyseBook(
        upload_key=blob.key,
        filename="book.txt",
        target_language="ko",
        model="gpt-4o-mini",
        reply_to="translation-service.replies.test",
        deadline=datetime.now(UTC) + timedelta(seconds=60),
        owner_id="hana",
        spend=SpendLimits(quota=DailyQuota(holder=uuid.uuid4().hex, tokens_per_day=allowance)),
    )
    try:
        await BookAnalyst(deps).analyse(
            asked, Delivery(Envelope.wrap(asked, producer="t"), None, 0)
        )
    finally:
        await deps.documents.stop()
    (body,) = broker.sent
    answer = Envelope.model_validate_json(body).open()
    assert isinstance(answer, BookAnalysisFailed) and answer.failure == "allowance"
    assert "daily allowance of 900 tokens" in answer.reason
    rows = await served(fake_llm_url, tag)
    assert sum(billed(r) for r in rows) <= allowance  # nothing past the allowance
    # The calls made are in the answer, as billed.
    paid = sorted((c.input_tokens, c.output_tokens) for c in answer.calls if not c.cached)
    assert paid == sorted((r["prompt_tokens"], r["completion_tokens"]) for r in rows)


async def test_one_answer_that_runs_long_cannot_pass_the_cap(
    replicas: Replicas, fake_llm_url: str
) -> None:
    tag = f"long{uuid.uuid4().hex[:8]}"
    # The model does not stop: ten times the answer. Unbounded, one call bills far more
    # than its reservation (its prompt, and its prompt again for the output).
    rambling = " ".join(paragraph(tag, i) for i in range(6)) + " [[fake:ramble]]"
    plans = {0: units([rambling])}
    cap = 2000  # one unbounded rambling answer alone would pass it
    command = await segment_command(replicas, 91, plans, 0, spend=SpendLimits(max_tokens=cap))
    await replicas.worker().translate_segment(command, delivery(command))
    rows = await served(fake_llm_url, tag)
    assert rows and all("[[fake:ramble]]" in r["prompt"] for r in rows[:1])
    for row in rows:  # sent with the output limit it reserved: never more output than that
        assert row["completion_tokens"] + row["thought_tokens"] <= row["prompt_tokens"]
    assert rows[0]["completion_tokens"] == rows[0]["prompt_tokens"]  # cut at the limit
    assert sum(billed(r) for r in rows) <= cap
