"""Recognise chapter headings in formats that have no markup for them (TXT, PDF, plain DOCX).

A plain-text book marks chapters by convention only: a short line on its own such as
"Chapter 12", "CHAPTER XII. The Storm", "Part Two", a bare Roman numeral, "제 3 장" or "第三章".
Detecting them lets segments and model calls stop at chapter boundaries.
"""

from __future__ import annotations

import re

MAX_HEADING_CHARS = 80

_ROMAN = r"M{0,4}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    "fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|"
    "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|last"
)
_KEYWORDS = (
    "chapter|chap\\.|part|book|volume|vol\\.|section|canto|act|"
    "chapitre|partie|livre|kapitel|teil|buch|cap[ií]tulo|capitolo|parte|libro|глава|часть|книга"
)
_NUMBER = rf"(?:\d{{1,4}}|(?i:{_ROMAN})|{_NUMBER_WORDS}|the\s+(?:{_NUMBER_WORDS}))"
# Keyword + number, then either nothing, a separator and a title, or a title without a full stop.
_KEYWORD_HEADING = re.compile(
    rf"^(?:{_KEYWORDS})\s+{_NUMBER}(?:\s*[.:\u2014\u2013-]\s*\S.*|\s+[^.!?,;]*[^\s.!?,;]|\s*[.:])?$",
    re.IGNORECASE,
)
_BARE_ROMAN = re.compile(rf"^(?=[IVXLCDM])(?:{_ROMAN})\.?$")
_BARE_NUMBER = re.compile(r"^\d{1,4}\.?$")
_SPECIAL = re.compile(r"^(?:prologue|epilogue|preface|foreword|afterword)\.?$", re.IGNORECASE)
_KOREAN = re.compile(r"^제\s*[\d일이삼사오육칠팔구십백]+\s*[장부편권화막](?:[\s.:—-].*)?$")
_HAN_NUMBER = "\\d\uff10-\uff19一二三四五六七八九十百千零\u3007两壹贰叁肆伍陆柒捌玖拾"
_CHINESE = re.compile(rf"^第\s*[{_HAN_NUMBER}]+\s*[章回節节部卷篇話话幕集]")
_CJK_SPECIAL = re.compile(
    r"^(?:序章|序|終章|终章|楔子|尾声|尾聲|プロローグ|エピローグ|서장|프롤로그|에필로그)$"
)


def is_chapter_heading(text: str) -> bool:
    """True when ``text`` (one standalone paragraph) looks like a chapter heading."""
    line = text.strip()
    if not line or len(line) > MAX_HEADING_CHARS or "\n" in line:
        return False
    return bool(
        _BARE_ROMAN.match(line)
        or _BARE_NUMBER.match(line)
        or _KEYWORD_HEADING.match(line)
        or _SPECIAL.match(line)
        or _KOREAN.match(line)
        or (_CHINESE.match(line) and len(line) <= 40)
        or _CJK_SPECIAL.match(line)
    )
