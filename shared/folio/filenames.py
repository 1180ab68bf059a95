"""Client file names: cleaned for display, and safe ``Content-Disposition`` headers.

A client's file name is only ever a label: it is never used to build a storage path.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import quote

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 200


def display_filename(raw: str | None, *, default: str = "upload") -> str:
    """The last path component, without control characters, trimmed to a sane length."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name
    name = _CONTROL.sub("", unicodedata.normalize("NFC", name)).strip().strip(".")
    if not name:
        return default
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        if dot and len(ext) <= 10:
            name = stem[: MAX_NAME - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_NAME]
    return name


def extension(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    return suffix


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """RFC 6266 header with an ASCII fallback and an RFC 5987 ``filename*`` when needed."""
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = _UNSAFE_ASCII.sub("_", ascii_stem).strip("._- ")[:120]
    ascii_ext = _UNSAFE_ASCII.sub("", ext.lower())[:10]
    fallback = (ascii_stem or "download") + (f".{ascii_ext}" if ascii_ext else "")
    header = f'{disposition}; filename="{fallback}"'
    if fallback != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header
