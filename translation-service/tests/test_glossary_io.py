"""Glossaries in and out: the upstream JSON shapes still read as before; CSV, TSV and
structured JSON carry kind, note, gender and do-not-translate, and an export reads back as
the same glossary; bad input is a clear 422."""

from __future__ import annotations

import pytest

from folio.contracts import Character, GlossaryEntry, SpeechStyle
from folio.errors import InvalidInput
from folio_translation import glossary_io

ENTRIES = [
    GlossaryEntry(
        term="Gregor", translation="그레고르", kind="person", gender="male", source="user"
    ),
    GlossaryEntry(
        term="Prague, Old Town",
        translation="프라하 구시가지",
        kind="place",
        note='say "구시가지", never "올드타운"',
        source="user",
    ),
    GlossaryEntry(
        term="Samsa & Co.", translation="Samsa & Co.", do_not_translate=True, source="user"
    ),
]


@pytest.mark.parametrize(
    "raw",
    [
        '{"Gregor": "그레고르"}',
        '{"translations": [{"source": "Gregor", "korean": "그레고르"}]}',
        '[{"source": "Gregor", "korean": "그레고르"}]',
        '[{"term": "Gregor", "translation": "그레고르"}]',
        '[{"Gregor": "그레고르"}]',
        "Gregor,그레고르\n",
        "term\ttranslation\nGregor\t그레고르\n",
    ],
)
def test_every_upstream_shape_and_plain_tables_read_the_same(raw: str) -> None:
    [entry] = glossary_io.parse_text(raw)
    assert (entry.term, entry.translation, entry.source) == ("Gregor", "그레고르", "user")


def test_csv_with_a_header_carries_every_field() -> None:
    raw = (
        "Source,Target,Type,Notes,Gender,DNT\n"
        "Gregor,그레고르,person,,m,\n"
        '"Prague, Old Town",프라하 구시가지,place,"say ""구시가지"", never ""올드타운""",,no\n'
        "Samsa & Co.,,,,,yes\n"
    )
    assert glossary_io.parse_text(raw, filename="terms.csv") == ENTRIES


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_an_export_reads_back_as_the_same_glossary(delimiter: str) -> None:
    text = glossary_io.to_delimited(ENTRIES, delimiter)
    assert text.splitlines()[0].split(delimiter) == list(glossary_io.COLUMNS)
    assert glossary_io.from_delimited(text, delimiter) == ENTRIES


def test_structured_json_keeps_kinds_characters_and_speech() -> None:
    grete = Character(
        name="Grete",
        translation="그레테",
        gender="female",
        speaks_to=[SpeechStyle(listener="Gregor", formality="intimate")],
    )
    data = glossary_io.to_json(ENTRIES, [grete])
    assert data["do_not_translate"] == ["Samsa & Co."]
    assert data["characters"][0]["speaks_to"] == [
        {"listener": "Gregor", "formality": "intimate", "note": None, "from_chapter": None}
    ]
    assert glossary_io.from_json(data) == ENTRIES
    # a do-not-translate list on its own
    keep = glossary_io.from_json({"terms": [], "do_not_translate": ["Prokurist"]})
    assert keep == [
        GlossaryEntry(
            term="Prokurist", translation="Prokurist", do_not_translate=True, source="user"
        )
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("Gregor,그레고르,person,,robot\n", "gender"),
        ("Gregor,그레고르,,,,perhaps\n", "do_not_translate"),
        ("Gregor,그레고르,person,,m,yes,extra\n", "more cells"),
        ('{"terms": "Gregor"}', "list"),
        ('{"terms": [], "do_not_translate": "Gregor"}', "list of terms"),
        ("[1]", "objects"),
        ('{"Gregor": 3}', "string"),
        ("{", "not valid JSON"),
    ],
)
def test_bad_glossaries_are_refused_with_a_reason(raw: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        glossary_io.parse_text(raw)
