"""Small text helpers shared by every parser.

Block text must look the same whatever format it came from (NFC, no invisible hyphenation
hints, no blank lines inside a block), otherwise the same sentence could be segmented or
cached differently depending on the container format.
"""

from __future__ import annotations

import re
import unicodedata

# Characters that only carry layout hints: soft hyphen, zero-width space, BOM/zero-width no-break.
_INVISIBLE = re.compile("[\u00ad\u200b\ufeff]")
_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")
_BLANK_LINES = re.compile(r"\n{2,}")


def normalize_newlines(text: str) -> str:
    """Turn every line-ending convention (CRLF, CR, Unicode separators, form feeds) into "\\n"."""
    return _NEWLINES.sub("\n", text)


def clean_block_text(text: str) -> str:
    """Canonical block text: NFC, no invisible hints, no blank lines inside, stripped."""
    text = unicodedata.normalize("NFC", _INVISIBLE.sub("", normalize_newlines(text)))
    if "\n" in text:
        text = _BLANK_LINES.sub("\n", "\n".join(line.rstrip() for line in text.split("\n")))
    return text.strip()


def is_cjk_char(char: str) -> bool:
    """True for scripts written without spaces between words (Chinese and Japanese).

    Hangul is deliberately excluded: Korean separates words with spaces, so re-flowed Korean
    lines must be joined with a space like Latin text.
    """
    code = ord(char)
    return (
        0x3000 <= code <= 0x30FF  # CJK punctuation, hiragana, katakana
        or 0x3400 <= code <= 0x4DBF  # CJK extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0xFF00 <= code <= 0xFF60  # full-width forms and punctuation
        or 0x20000 <= code <= 0x2FA1F  # supplementary ideographs
    )


def join_lines(lines: list[str]) -> str:
    """Re-flow hard-wrapped lines into one line.

    Lines are joined with one space, except between two CJK characters (no spaces in those
    scripts), after a word-hyphen before a lower-case letter ("well-\\nknown" stays one word)
    and after an em dash glued to a word ("table—\\nSamsa").
    """
    parts: list[str] = []
    previous = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if previous:
            parts.append(_glue(previous, line))
        parts.append(line)
        previous = line
    return "".join(parts)


def _glue(previous: str, line: str) -> str:
    """What goes between two re-flowed lines (see ``join_lines``)."""
    prev, before, nxt = previous[-1], previous[-2:-1], line[0]
    if is_cjk_char(prev) and is_cjk_char(nxt):
        return ""
    if prev == "-" and before.isalpha() and nxt.islower():
        return ""
    if prev == "\u2014" and before and not before.isspace() and nxt.isalpha():
        return ""
    return " "
