"""Glossary quality: real names only, matched by case and word, inflected forms, name
families; whole-book style; relationships per chapter."""

# ruff: noqa: RUF001 - Cyrillic and CJK names are the subject of these tests
from __future__ import annotations

from folio.contracts import Character, SpeechStyle
from folio_worker.engine.batching import term_batches
from folio_worker.engine.context import TextIndex, speech_at
from folio_worker.engine.families import alias_map
from folio_worker.engine.merging import merge_reports, style
from folio_worker.engine.reports import Chunk, ChunkAnalysis
from folio_worker.engine.segmentation import Piece, Unit
from folio_worker.engine.terms import subsumed, vet

BOOK = (
    "Will Harper came to Los Angeles in the spring. The city was loud. And the rain fell.\n\n"
    "If you ask him, he will tell you about it. You know how he is.\n\n"
    '"You will stay with us," she said, "and Will, you will not argue." She worked at the '
    "Ministry, and the Ministry never slept. They sailed to The Hague in May."
)


def test_function_words_that_only_open_sentences_are_not_terms():
    for junk in ("The", "And", "If", "You", "She", "They"):
        assert vet(junk, "person", BOOK) is None, junk


def test_a_sentence_opener_before_a_name_is_not_part_of_it():
    """A name is never written in lower case, so "but gregor" never occurs either: that
    must not make "But Gregor" (a sentence's first two words) a name of its own."""
    book = (
        "Gregor woke up. But Gregor could not move. Then Gregor slept, and his sister "
        "Grete watched Gregor. But Gregor said nothing."
    )
    for opened in ("But Gregor", "Then Gregor"):
        assert vet(opened, "person", book) == "Gregor", opened
    assert vet("But", "person", book) is None


def test_a_common_word_used_as_a_name_stays_a_name():
    assert vet("Will", "person", BOOK) == "Will"
    assert vet("Will Harper", "person", BOOK) == "Will Harper"  # even at a sentence start
    assert vet("will", "person", BOOK) is None


def test_articles_go_only_when_they_are_not_part_of_the_name():
    assert vet("Los Angeles", "place", BOOK) == "Los Angeles"
    assert vet("The Hague", "place", BOOK) == "The Hague"
    assert vet("the Ministry", "organization", BOOK) == "Ministry"
    assert vet("Angeles", "place", "He lived in Angeles County.") == "Angeles"


def test_terms_the_book_does_not_contain_are_dropped():
    assert vet("Gregor", "person", BOOK) is None
    assert vet("\u6797", "person", "\u6797\u5c0f\u96e8\u6765\u4e86") is None  # one character


def test_names_are_matched_with_their_case_and_whole_words():
    index = TextIndex("He will come. Then Will smiled at Willow.")
    assert index.contains("Will")
    assert not TextIndex("He will come, and willingly.").contains("Will")
    assert not TextIndex("Willow smiled.").contains("Will")
    assert TextIndex("They drove to los angeles.").contains("los angeles") is True


def test_inflected_names_are_found_in_languages_that_inflect_them():
    russian = TextIndex("Он увидел Анну и Николая у вокзала.", inflecting=True)
    assert russian.contains("Анна") and russian.contains("Николай")
    assert not russian.contains("Андрей")
    polish = TextIndex("Czekała na Kenjiego przed dworcem.", inflecting=True)
    assert polish.contains("Kenji")
    german = TextIndex("Gregors Zimmer war still.", inflecting=True)
    assert german.contains("Gregor")
    assert not TextIndex("Gregors Zimmer war still.").contains("Gregor")


def test_cjk_name_families_are_grouped():
    names = [
        "\u6797\u5c0f\u96e8",
        "\u5c0f\u96e8",
        "\u9648\u660e",
        "グレゴール・ザムザ",
        "グレゴール",
    ]
    aliases = alias_map(names)
    assert aliases == {1: 0, 4: 3}
    batches = term_batches(
        [(n, "person") for n in names] + [(f"T{i}", "other") for i in range(40)], size=24
    )
    for full, part in ((0, 1), (3, 4)):
        home = [b for b in batches if (names[full], "person") in b]
        assert (names[part], "person") in home[0]


def _unit(index: int, chapter: int, text: str) -> Unit:
    return Unit(index, chapter, (Piece(index, 0, 1, text),))


def _report(view: str, voice: str, speaks: str | None = None, **extra) -> ChunkAnalysis:
    characters = []
    if speaks:
        characters = [
            {
                "name": "Will",
                "gender": "male",
                "speaks_to": [{"listener": "Margaret", "formality": speaks}],
            }
        ]
    return ChunkAnalysis.model_validate(
        {
            "narration": {"point_of_view": view, "voice": voice, "formality": "plain"},
            "characters": characters,
            **extra,
        }
    )


def test_style_comes_from_most_of_the_book_and_speech_changes_are_kept_per_chapter():
    texts = [
        "A foreword by the editor, who knew Will and Margaret. " * 3,
        "Will met Margaret at the station and, and Will said nothing. " * 12,
        "Later Margaret and Will walked home, and Will laughed. " * 12,
    ]
    chunks = [Chunk((_unit(i, i, t),)) for i, t in enumerate(texts)]
    reports = [
        _report("first_person", "an editor's note", "formal"),
        _report("third_person", "close, restrained", "formal", summary="Will arrives."),
        _report("third_person", "close, restrained", "intimate", summary="They walk home."),
    ]
    book = TextIndex("\n\n".join(texts))
    merged = merge_reports(chunks, reports, book)
    narrative = style(merged, None)
    assert narrative.narration == "third person; close, restrained"
    assert merged.summaries == {1: ["Will arrives."], 2: ["They walk home."]}
    _listener, changes = merged.characters["will"]["speaks_to"]["margaret"]
    assert changes == [(0, "formal"), (2, "intimate")]


def test_a_character_speaks_as_of_the_chapter():
    will = Character(
        name="Will",
        speaks_to=[
            SpeechStyle(listener="Margaret", formality="formal"),
            SpeechStyle(listener="Margaret", formality="intimate", from_chapter=2),
        ],
    )
    assert [s.formality for s in speech_at(will, 1).speaks_to] == ["formal"]
    assert [s.formality for s in speech_at(will, 3).speaks_to] == ["intimate"]


def test_a_term_that_only_occurs_inside_a_longer_one_is_dropped():
    text = (
        "Will Harper came to Los Angeles. Will smiled. Angeles County is far. "
        "林小雨来了。小雨笑了。"
    )
    terms = ["Will", "Will Harper", "Harper", "Los", "Los Angeles", "Angeles", "林小雨", "小雨"]
    assert subsumed(terms, text) == {"Los", "Harper"}


def test_a_cased_term_is_found_only_as_a_whole_word() -> None:
    from folio_worker.engine.terms import _exact

    for text, found in [
        ("Gregor woke.", True),
        ("Then Gregor.", True),
        ("«Gregor»", True),
        ("McGregor woke.", False),
        ("_Gregor", False),
        ("éGregor", False),
        ("Gregors", False),
        ("GGregor", False),
    ]:
        assert bool(_exact("Gregor").search(text)) is found, text
    assert _exact("'Tis").search("He said 'Tis so.")
    assert not _exact("'Tis").search("x'Tis")
