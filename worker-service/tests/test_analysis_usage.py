"""An analysis without a job (``/analysis/*``) reports a signed-in caller's calls through
the usage journal, as theirs, besides its reply: a worker killed mid-analysis, or an
analysis past its deadline, sends no reply, and each call is still reported once, by the
relay of a replica (against the fake LLM over HTTP and a real Redis)."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from folio.contracts import AnalyseBook, AnalysisCallsRecorded, BookAnalysed, CallRecord
from folio.messaging import Delivery, Envelope, Publisher
from folio.storage import LocalStorage
from folio_worker.analysing import BookAnalyst
from folio_worker.clients import ClientFactory
from folio_worker.deps import WorkerDeps
from folio_worker.engine.calls import MemoryCache
from folio_worker.engine.isolation import DocumentProcessor
from folio_worker.engine.journal import UsageJournal
from folio_worker.llm import InProcessRateLimiter
from folio_worker.llm.transport import AiohttpTransport
from folio_worker.redis_client import connect_redis
from folio_worker.settings import WorkerSettings

from .test_worker_spend import REDIS_URL, RecordingBroker, RecordingPublisher, paragraph, served

PARAGRAPHS = 12
CHUNKS = 3  # of about 1000 characters, asked at once


class Worker:
    """One worker replica's analysis handler, its journal and what it answered."""

    def __init__(self, deps: WorkerDeps, broker: RecordingBroker) -> None:
        self.deps, self.broker = deps, broker

    async def analyse(self, request: AnalyseBook) -> None:
        delivery = Delivery(Envelope.wrap(request, producer="translation-service"), None, 0)
        await BookAnalyst(self.deps).analyse(request, delivery)

    def answers(self) -> list:
        return [Envelope.model_validate_json(body).open() for body in self.broker.sent]


@pytest.fixture
async def setting(tmp_path: Path, fake_llm_url: str, redis_prefix: str):  # type: ignore[no-untyped-def]
    settings = WorkerSettings(
        storage_dir=tmp_path,
        llm_provider="openai",
        llm_base_url=fake_llm_url + "/v1",
        llm_api_key=SecretStr(f"key-{tmp_path.name}"),
        analysis_chunk_size=1000,
    )
    http = AiohttpTransport(timeout_s=120)
    redis = connect_redis(REDIS_URL)
    documents = DocumentProcessor()
    await documents.start()
    cache = MemoryCache()  # the replicas' shared response cache (Redis in production)
    stream = f"{redis_prefix}:usage-journal"

    def replica(journal: UsageJournal) -> Worker:
        broker = RecordingBroker()
        clients = ClientFactory(settings, http, InProcessRateLimiter(), cache)
        deps = WorkerDeps(
            settings,
            LocalStorage(tmp_path),
            Publisher(broker, "worker-service"),  # type: ignore[arg-type]
            clients,
            documents,
            journal=journal,
        )
        return Worker(deps, broker)

    def journal(publisher: RecordingPublisher) -> UsageJournal:
        # A linger this short: what is written before a relay is due at that relay.
        return UsageJournal(publisher, redis, stream=stream, linger_s=0.05)  # type: ignore[arg-type]

    yield replica, journal, redis, stream
    await documents.stop()
    await http.aclose()
    await redis.aclose()


async def book(storage: LocalStorage, tag: str, slow: str) -> str:
    """A book whose last chunk is answered ``slow``ly; the others at once."""
    texts = [paragraph(tag, i) for i in range(PARAGRAPHS)]
    texts[-1] = paragraph(tag, PARAGRAPHS - 1, slow)

    async def body():  # type: ignore[no-untyped-def]
        yield "\n\n".join(texts).encode()

    return (await storage.put_stream("analysis", body(), max_bytes=1 << 20)).key


def request(key: str, owner_id: str | None, deadline_s: float = 120) -> AnalyseBook:
    return AnalyseBook(
        upload_key=key,
        filename="book.txt",
        target_language="ko",
        model="gpt-4o-mini",
        render_terms=False,  # the style: chunk calls only
        owner_id=owner_id,
        reply_to="translation-service.replies.test",
        deadline=datetime.now(UTC) + timedelta(seconds=deadline_s),
    )


def once_marker() -> str:
    """Slow the first request that has it only (the fake counts each marker's uses)."""
    return f"[[fake:slow=12.{random.randrange(10**6):06d}*1]]"


async def until(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(1200):  # a loaded machine may take a while
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def settled(fake: str) -> None:
    """The fake has finished the slow request its caller abandoned (no leftover load)."""

    async def idle() -> bool:
        async with httpx.AsyncClient(base_url=fake) as client:
            return (await client.get("/_fake/stats")).json()["in_flight"] == 0

    await until(idle, "the fake LLM idle")


async def relay(journal: UsageJournal) -> None:
    await asyncio.sleep(0.1)  # past the linger
    await journal._relay_stream()
    await journal._relay_lost()


def relayed(publisher: RecordingPublisher) -> list[CallRecord]:
    assert all(isinstance(e, AnalysisCallsRecorded) for e in publisher.published)
    assert {(e.owner_id, e.allowance) for e in publisher.published} == {("hana", True)}
    return [c for e in publisher.published for c in e.calls]


async def test_an_analysis_whose_worker_died_has_its_calls_reported_once(
    setting, fake_llm_url: str
) -> None:
    replica, journal, redis, stream = setting
    # The replica that dies: its heartbeat never beats (as a killed one's has lapsed).
    dying = replica(journal(RecordingPublisher()))
    tag = f"akill{uuid.uuid4().hex[:8]}"
    asked = request(await book(dying.deps.storage, tag, once_marker()), owner_id="hana")
    task = asyncio.create_task(dying.analyse(asked))
    try:

        async def answered_but_one() -> bool:
            rows = await served(fake_llm_url, tag)
            return len(rows) == CHUNKS - 1 and await redis.hlen(f"{stream}:inflight") == 1

        await until(answered_but_one, "every chunk answered but the slow one")
        # The worker is gone from here on: it never replies.
        answered = {r["client_request_id"]: r for r in await served(fake_llm_url, tag)}
        publisher = RecordingPublisher()
        other = journal(publisher)
        await other._beat()
        await relay(other)
        await relay(other)  # nothing twice
    finally:
        task.cancel()  # (a killed worker would not even record its call as cancelled)
        await asyncio.gather(task, return_exceptions=True)
    assert dying.answers() == []
    calls = relayed(publisher)
    assert len({c.call_id for c in calls}) == len(calls)
    by_id = {c.call_id: c for c in calls}
    # Each answered call as the provider billed it; the one in flight at its reservation.
    ok = {i: c for i, c in by_id.items() if c.outcome == "ok"}
    assert sorted(ok) == sorted(answered)
    for call_id, row in answered.items():
        assert (ok[call_id].input_tokens, ok[call_id].output_tokens) == (
            row["prompt_tokens"],
            row["completion_tokens"],
        )
        assert not ok[call_id].estimated
    (lost,) = [c for c in calls if c.call_id not in answered]
    assert lost.outcome == "lost" and lost.estimated and lost.output_tokens > 0

    # What the cancellation journaled is the lost call again (stored once, by its id).
    publisher.published.clear()
    await relay(other)
    assert {c.call_id for c in relayed(publisher)} <= {lost.call_id}

    # The request is redelivered to a live replica: the answers already paid for come
    # from the shared cache (no call, nothing billed twice), only the lost chunk is
    # asked again, and that call is reported once, in the reply and by the journal.
    publisher.published.clear()
    live = replica(other)
    await live.analyse(asked)
    (answer,) = live.answers()
    assert isinstance(answer, BookAnalysed)
    billed = [c for c in answer.calls if not c.cached]
    assert len([c for c in answer.calls if c.cached]) == len(answered)
    again = await served(fake_llm_url, tag)
    assert sorted(c.call_id for c in billed) == sorted(
        r["client_request_id"] for r in again if r["client_request_id"] not in answered
    )
    await relay(other)
    assert sorted(c.call_id for c in relayed(publisher)) == sorted(c.call_id for c in billed)
    assert not set(by_id) & {c.call_id for c in relayed(publisher)}
    await settled(fake_llm_url)


async def test_an_analysis_past_its_deadline_has_its_calls_reported_once(
    setting, fake_llm_url: str
) -> None:
    replica, journal, redis, stream = setting
    publisher = RecordingPublisher()
    worker = replica(journal(publisher))
    tag = f"alate{uuid.uuid4().hex[:8]}"
    key = await book(worker.deps.storage, tag, once_marker())
    # The deadline comes while the slow chunk is out: no reply (nobody waits).
    await worker.analyse(request(key, owner_id="hana", deadline_s=4))
    assert worker.answers() == []
    await worker.deps.journal._beat()  # type: ignore[union-attr]
    await relay(worker.deps.journal)  # type: ignore[arg-type]
    await relay(worker.deps.journal)  # type: ignore[arg-type]  # nothing twice
    calls = relayed(publisher)
    assert len({c.call_id for c in calls}) == len(calls)
    rows = {r["client_request_id"]: r for r in await served(fake_llm_url, tag)}
    for call in calls:
        if call.outcome == "ok":
            row = rows[call.call_id]
            assert (call.input_tokens, call.output_tokens) == (
                row["prompt_tokens"],
                row["completion_tokens"],
            )
    assert set(rows) <= {c.call_id for c in calls}
    # The call cut off at the deadline may have been billed: counted at its reservation.
    assert [c.outcome for c in calls if c.estimated] == ["cancelled"]
    assert await redis.hlen(f"{stream}:inflight") == 0
    await settled(fake_llm_url)


async def test_an_anonymous_analysis_is_journaled_as_nobodys(setting, fake_llm_url: str) -> None:
    replica, journal, redis, stream = setting
    publisher = RecordingPublisher()
    worker = replica(journal(publisher))
    tag = f"anon{uuid.uuid4().hex[:8]}"
    await worker.analyse(request(await book(worker.deps.storage, tag, ""), owner_id=None))
    (answer,) = worker.answers()
    assert isinstance(answer, BookAnalysed) and answer.calls  # the caller sees its calls
    assert await served(fake_llm_url, tag)
    await relay(worker.deps.journal)  # type: ignore[arg-type]
    assert publisher.published == []  # stored nowhere, as before
    assert await redis.xlen(stream) == 0
