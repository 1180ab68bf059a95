"""The engine's side of analysis without a job: how much of the book is read, and what the
merged characters keep of the model's reports."""

from __future__ import annotations

from folio_worker.analysing import leading_units
from folio_worker.engine.analysis import (
    CharacterNote,
    ChunkAnalysis,
    NarrationNotes,
    SpeechNote,
    chunk_units,
    merge_reports,
)
from folio_worker.engine.context import TextIndex
from folio_worker.engine.segmentation import Piece, Unit


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
    assert gregor["speaks_to"] == {"grete": ("Grete", "casual")}
