"""Turn the bytes of a plain-text upload into ``str``.

Books arrive in whatever encoding the author's editor used: UTF-8 (with or without BOM),
UTF-16, or legacy code pages such as cp1252, Shift-JIS, EUC-KR and GB18030. Explicit signals
(BOMs, valid UTF-8) are trusted first because statistical detection is only a best guess.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from folio_worker.engine.documents.model import DocumentError

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Control and private-use characters; tab, newlines, form feed and NEL are ordinary in text.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ue000-\uf8ff]")
_MAX_CONTROL_RATIO = 0.01
# charset-normalizer's names, most common first, for breaking ties between equal scores.
_PREFERRED = (
    "cp1252",
    "latin_1",
    "iso8859_15",
    "cp1250",
    "shift_jis",
    "cp932",
    "euc_kr",
    "gb18030",
)


class NotTextError(DocumentError):
    """The bytes are not text at all (binary data)."""


def decode_text(data: bytes) -> str:
    """Decode text bytes: BOM, then strict UTF-8, then charset detection; refuses binary data."""
    text = _decode(data)
    if _looks_binary(text):
        raise NotTextError("The file is not a text file (it contains binary data).")
    return text


def _decode(data: bytes) -> str:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                raise DocumentError(
                    f"The file starts with a {codec.upper()} marker but is not valid {codec}."
                ) from None
            return text.lstrip("\ufeff")
    if b"\x00" in data:
        raise NotTextError("The file is not a text file (it contains binary data).")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    matches = list(from_bytes(data))
    if not matches:
        raise DocumentError(
            "Could not recognise the text encoding of the file; please save it as UTF-8."
        )
    best = matches[0]
    # Sibling code pages often score exactly the same; break the tie towards the commonest.
    tied = {
        m.encoding: m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)
    }
    preferred = next((tied[name] for name in _PREFERRED if name in tied), best)
    return str(preferred)


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    controls = len(_CONTROLS.findall(text))
    return controls > max(2, len(text) * _MAX_CONTROL_RATIO)
