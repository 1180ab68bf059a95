"""Resource ceilings for parsing untrusted uploads.

Books come from users, so every parser must refuse input that would take unbounded memory or
time (zip bombs, absurd page counts, gigantic texts) with a clear reason instead of crashing
the worker. The defaults fit any real book with a wide margin.
"""

from __future__ import annotations

from dataclasses import dataclass

from folio_worker.engine.documents.model import DocumentError

MIB = 1024 * 1024


@dataclass(frozen=True)
class ParseLimits:
    """Hard limits applied while parsing one upload."""

    max_input_bytes: int = 50 * MIB
    max_uncompressed_bytes: int = 300 * MIB
    max_compression_ratio: float = 200.0
    max_zip_entries: int = 20_000
    max_chars: int = 10_000_000
    max_pdf_pages: int = 5_000


def describe_bytes(size: int) -> str:
    """A short human size such as "12.5 MB", for limit messages."""
    if size >= MIB:
        return f"{size / MIB:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size} bytes"


def check_input_size(data: bytes, limits: ParseLimits) -> None:
    """Refuse uploads larger than ``max_input_bytes`` before any parsing work starts."""
    if len(data) > limits.max_input_bytes:
        raise DocumentError(
            f"The file is too large ({describe_bytes(len(data))}); "
            f"the limit is {describe_bytes(limits.max_input_bytes)}."
        )


def check_chars(count: int, limits: ParseLimits) -> None:
    """Refuse books whose text exceeds ``max_chars`` (checked while text accumulates)."""
    if count > limits.max_chars:
        raise DocumentError(
            f"The book is too long: more than {limits.max_chars:,} characters of text."
        )
