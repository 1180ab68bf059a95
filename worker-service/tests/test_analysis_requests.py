"""The worker's side of analysis without a job: how much of the book is read, what the
merged characters keep of the model's reports, and who is answered (and who not)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from folio.contracts import AnalyseBook, BookAnalysisFailed
from folio.messaging import Delivery, Envelope, Publisher
from folio.storage import LocalStorage
from folio_worker.analysing import BookAnalyst, leading_units
from folio_worker.deps import WorkerDeps
from folio_worker.engine.context import TextIndex
from folio_worker.engine.merging import merge_reports
from folio_worker.engine.reports import (
    CharacterNote,
    ChunkAnalysis,
    NarrationNotes,
    SpeechNote,
    chunk_units,
)
from folio_worker.engine.segmentation import Piece, Unit
from folio_worker.settings import WorkerSettings


def unit(index: int, text: str) -> Unit:
    return Unit(index=index, chapter=0, pieces=(Piece(block=index, part=0, parts=1, text=text),))


def test_only_the_opening_is_read_and_never_nothing() -> None:
    units = [unit(i, f"Paragraph {i}. " + "word " * 40) for i in range(10)]
    opening = leading_units(units, 500)
    assert [u.index for u in opening] == [0, 1]
    assert sum(len(u.text) for u in opening) <= 500
    assert [u.index for u in leading_units(units, 10)] == [0]  # one unit at least
    assert len(leading_units(units, 10**6)) == 10


def test_nobody_speaks_to_themselves_and_listeners_keep_their_register() -> None:
    text = "Gregor said to Grete: come in. Grete answered Gregor politely."
    chunks = chunk_units([unit(0, text)], 6000)
    report = ChunkAnalysis(
        narration=NarrationNotes(point_of_view="third_person"),
        characters=[
            CharacterNote(
                name="Gregor",
                gender="male",
                speaks_to=[
                    SpeechNote(listener="Gregor", formality="formal"),  # the model's slip
                    SpeechNote(listener="Grete", formality="casual"),
                    SpeechNote(listener="Nobody", formality="unknown"),
                ],
            )
        ],
    )
    merged = merge_reports(chunks, [report], TextIndex(text))
    gregor = merged.characters["gregor"]
    assert gregor["speaks_to"] == {"grete": ["Grete", [(0, "casual")]]}


class RecordingBroker:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, dict]] = []

    async def publish(self, body: bytes, **options) -> None:  # type: ignore[no-untyped-def]
        self.sent.append((body, options))


@pytest.fixture
def analyst(tmp_path: Path) -> tuple[BookAnalyst, RecordingBroker]:
    broker = RecordingBroker()
    deps = WorkerDeps(
        WorkerSettings(storage_dir=tmp_path),
        LocalStorage(tmp_path),
        Publisher(broker, "worker-service"),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]  # no model is reached in these tests
        None,  # type: ignore[arg-type]
    )
    return BookAnalyst(deps), broker


def request(**fields) -> AnalyseBook:  # type: ignore[no-untyped-def]
    values = {
        "upload_key": "analysis/missing",
        "filename": "book.txt",
        "target_language": "ko",
        "model": "fake-model",
        "reply_to": "translation-service.replies.test",
        "deadline": datetime.now(UTC) + timedelta(seconds=30),
        **fields,
    }
    return AnalyseBook(**values)


async def test_a_request_past_its_deadline_is_dropped_unanswered(analyst) -> None:
    worker, broker = analyst
    late = request(deadline=datetime.now(UTC) - timedelta(seconds=1))
    await worker.analyse(late, Delivery(Envelope.wrap(late, producer="t"), None, 0))
    assert broker.sent == []


async def test_an_unreadable_upload_is_answered_to_the_requester(analyst) -> None:
    worker, broker = analyst
    asked = request()
    envelope = Envelope.wrap(asked, producer="translation-service")
    await worker.analyse(asked, Delivery(envelope, None, 0))
    ((body, options),) = broker.sent
    assert options["routing_key"] == "translation-service.replies.test"
    assert options["correlation_id"] == str(envelope.message_id)
    assert options["mandatory"] is False  # a requester that is gone is no error
    answer = Envelope.model_validate_json(body).open()
    assert isinstance(answer, BookAnalysisFailed) and answer.failure == "unreadable"
    assert "no longer available" in answer.reason
