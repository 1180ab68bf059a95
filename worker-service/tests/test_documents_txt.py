"""Plain-text parsing: encodings, hard-wrap re-flow, verse, Gutenberg boilerplate, chapters."""

# Typographic quotes and CJK punctuation are the subject of these tests, not typos.
# ruff: noqa: RUF001

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from folio_worker.engine.documents import DocumentError, parse_document
from folio_worker.engine.documents.headings import is_chapter_heading

ROOT = Path(__file__).resolve().parents[2]
METAMORPHOSIS = ROOT / "bench" / "data" / "metamorphosis.txt"
DREAM = ROOT / "samples" / "dream-of-a-ridiculous-man.txt"


def texts(data: bytes, name: str = "book.txt") -> list[str]:
    return [block.text for block in parse_document(data, name).blocks]


def test_metamorphosis_chapters_and_reflow() -> None:
    book = parse_document(METAMORPHOSIS.read_bytes(), "metamorphosis.txt")
    assert book.format == "txt"
    assert [c.title for c in book.chapters] == ["I", "II", "III"]
    headings = [b for b in book.blocks if b.kind == "heading"]
    assert [h.text for h in headings] == ["I", "II", "III"]
    assert [h.chapter for h in headings] == [0, 1, 2]
    first = book.blocks[1]
    assert first.text.startswith(
        "One morning, when Gregor Samsa woke from troubled dreams, he found"
    )
    assert "he found himself transformed" in first.text
    assert all("\n" not in b.text for b in book.blocks)
    assert all(b.text == b.text.strip() and b.text for b in book.blocks)
    assert book.text().count("\n\n") == len(book.blocks) - 1


def test_dream_title_page_and_chapters() -> None:
    book = parse_document(DREAM.read_bytes(), "dream.txt")
    assert [c.title for c in book.chapters] == [None, "I", "II", "III", "IV", "V"]
    assert book.blocks[0].text == "The Dream of a Ridiculous Man\nFyodor Dostoevsky"
    assert book.blocks[1].kind == "heading" and book.blocks[1].text == "I"
    assert book.blocks[2].text.startswith("I am a ridiculous person.")


def test_verse_keeps_line_breaks_and_prose_is_joined() -> None:
    prose = (
        "This is a long line of ordinary prose that was wrapped by the editor at\n"
        "about seventy columns, like the books of Project Gutenberg tend to be,\n"
        "and it should be joined back into one line.\n"
    )
    verse = "Roses are red,\nViolets are blue,\nSugar is sweet,\nAnd so are you.\n"
    result = texts((prose + "\n" + verse + "\n" + prose).encode())
    assert result[0].startswith(
        "This is a long line of ordinary prose that was wrapped by the editor at about"
    )
    assert "\n" not in result[0]
    assert result[1] == "Roses are red,\nViolets are blue,\nSugar is sweet,\nAnd so are you."


def test_no_blank_lines_means_one_paragraph_per_line() -> None:
    data = b"\n\nFirst paragraph here.\nSecond paragraph here.\r\nThird one.\rFourth.\n\n"
    assert texts(data) == [
        "First paragraph here.",
        "Second paragraph here.",
        "Third one.",
        "Fourth.",
    ]


def test_no_blank_lines_but_first_line_indents() -> None:
    data = (
        b"    The first paragraph starts here and it was wrapped by a typewriter at\n"
        b"about seventy columns, long ago.\n"
        b"    The second paragraph starts with an indent as well, and it also wraps\n"
        b"onto a second line.\n"
    )
    assert texts(data) == [
        "The first paragraph starts here and it was wrapped by a typewriter at about seventy "
        "columns, long ago.",
        "The second paragraph starts with an indent as well, and it also wraps onto a second line.",
    ]


def test_cjk_lines_join_without_space_and_korean_with_space() -> None:
    japanese = "吾輩は猫である。名前は\nまだ無い。\n\n次の段落。"
    assert texts(japanese.encode()) == ["吾輩は猫である。名前はまだ無い。", "次の段落。"]
    korean = "나는 고양이로소이다. 이름은\n아직 없다.\n\n다음 문단."
    assert texts(korean.encode())[0] == "나는 고양이로소이다. 이름은 아직 없다."


def test_hyphen_and_dash_at_line_end() -> None:
    data = (
        "It is a fact that is very widely agreed upon by everyone, and a well-\n"
        "known fact about the hyphenated words that sometimes end up at the end of a\n"
        "line, that the salesman said nothing at all about the matter, not even a\n"
        "word—\nSamsa was a travelling salesman, and that was the plain truth of it.\n"
        "\nNext."
    ).encode()
    first = texts(data)[0]
    assert "a well-known fact" in first
    assert "a word—Samsa was" in first
    assert "\n" not in first


def test_gutenberg_boilerplate_is_stripped() -> None:
    data = (
        b"The Project Gutenberg eBook of Tiny Book\n\nTitle: Tiny Book\nAuthor: Some Writer\n"
        b"Language: English\n\n*** START OF THE PROJECT GUTENBERG EBOOK TINY BOOK ***\n\n"
        b"CHAPTER I. The Start\n\nIt began.\n\nCHAPTER II\n\nIt ended.\n\n"
        b"*** END OF THE PROJECT GUTENBERG EBOOK TINY BOOK ***\n\nLicense text goes here.\n"
    )
    book = parse_document(data, "tiny.txt")
    assert [b.text for b in book.blocks] == [
        "CHAPTER I. The Start",
        "It began.",
        "CHAPTER II",
        "It ended.",
    ]
    assert [c.title for c in book.chapters] == ["CHAPTER I. The Start", "CHAPTER II"]
    assert book.title == "Tiny Book" and book.authors == ("Some Writer",)


def test_preface_before_first_heading_is_chapter_zero() -> None:
    data = b"A short preface.\n\nChapter 1\n\nBody one.\n\nPart Two\n\nBody two."
    book = parse_document(data, "b.TXT")
    assert [c.title for c in book.chapters] == [None, "Chapter 1", "Part Two"]
    assert [b.chapter for b in book.blocks] == [0, 1, 1, 2, 2]


def test_no_headings_is_one_chapter() -> None:
    book = parse_document(b"Just one paragraph.\n\nAnd another.", "b.text")
    assert len(book.chapters) == 1 and book.chapters[0].title is None


@pytest.mark.parametrize(
    "line",
    [
        "Chapter 12",
        "CHAPTER XII. The Storm",
        "Part Two",
        "Book III",
        "I",
        "XIV",
        "7",
        "제 3 장",
        "第三章",
        "第十二章 风暴",
        "Chapter the First",
        "Prologue",
    ],
)
def test_chapter_heading_patterns(line: str) -> None:
    assert is_chapter_heading(line)


@pytest.mark.parametrize(
    "line",
    [
        "I am here.",
        "Part of me wanted to go.",
        "Chapter and verse",
        "IIII",
        "Listen.",
        "Book review: a good read.",
        "x" * 81,
    ],
)
def test_not_chapter_headings(line: str) -> None:
    assert not is_chapter_heading(line)


CURLY = "“Well,” she said, “it’s a café—isn’t it?” He didn’t answer; the naïve façade… "


def test_cp1252_with_curly_quotes() -> None:
    text = (CURLY * 6).strip() + "\n\nSecond paragraph – with an en dash and “quotes”."
    assert texts(text.encode("cp1252")) == [(CURLY * 6).strip(), text.split("\n\n")[1]]


def test_utf8_bom() -> None:
    data = codecs.BOM_UTF8 + "Ünïcödé text.\n\nSecond.".encode()
    assert texts(data) == ["Ünïcödé text.", "Second."]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_bom(codec: str) -> None:
    text = "Hello “world”.\n\n안녕하세요.\n\n日本語の文。"
    data = text.encode(codec)
    if codec == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    assert texts(data) == ["Hello “world”.", "안녕하세요.", "日本語の文。"]


def test_shift_jis_japanese() -> None:
    text = (
        "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
        "何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。\n\n"
        "吾輩はここで始めて人間というものを見た。しかもあとで聞くとそれは書生という"
        "人間中で一番獰悪な種族であったそうだ。"
    )
    assert texts(text.encode("shift_jis")) == text.split("\n\n")


def test_euc_kr_korean() -> None:
    text = (
        "나는 고양이로소이다. 이름은 아직 없다. 어디서 태어났는지 도무지 짐작이 가지 않는다. "
        "어두컴컴하고 축축한 곳에서 야옹야옹 울고 있었던 것만은 기억하고 있다.\n\n"
        "나는 여기서 처음으로 인간이라는 것을 보았다. 게다가 나중에 들으니 그것은 서생이라는 "
        "인간 중에서도 가장 사나운 종족이었다고 한다."
    )
    assert texts(text.encode("euc_kr")) == text.split("\n\n")


def test_gb18030_chinese() -> None:
    text = (
        "第一章 风暴\n\n那天晚上，天空乌云密布，雨下得很大。他坐在窗前，静静地看着外面的街道，"
        "心里想着远方的家人。\n\n第二天早上，太阳终于出来了。城市里的人们纷纷走出家门，享受难得的好天气。"
    )
    book = parse_document(text.encode("gb18030"), "zh.txt")
    assert [b.text for b in book.blocks] == text.split("\n\n")
    assert [c.title for c in book.chapters] == ["第一章 风暴"]


def test_text_is_nfc_and_invisible_characters_removed() -> None:
    data = "Cafe\u0301 soft\u00adhyphen zero\u200bwidth.".encode()
    assert texts(data) == ["Café softhyphen zerowidth."]


def test_whitespace_only_file_has_no_text() -> None:
    with pytest.raises(DocumentError, match=r"The book contains no text\."):
        parse_document(b"  \n\n\t \n", "empty.txt")


def test_binary_named_txt_is_refused() -> None:
    with pytest.raises(DocumentError, match=r"named \.txt but is not a text file"):
        parse_document(b"\x00\x01\x02binary\x00" * 50, "x.txt")
