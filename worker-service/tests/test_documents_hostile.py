"""Hostile uploads: every one must end in a DocumentError with a clear reason, without large
allocations or inflating much data (zip bombs, lying zip headers, XXE, billion laughs, junk)."""

from __future__ import annotations

import io
import os
import struct
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from lxml import etree

from folio_worker.engine.documents import DocumentError, ParseLimits, parse_document
from folio_worker.engine.documents.safexml import make_parser

MB = 1024 * 1024
CONTAINER = (
    b'<?xml version="1.0"?><container version="1.0" '
    b'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
    b'<rootfile full-path="content.opf" media-type="application/oebps-package+xml"/>'
    b"</rootfiles></container>"
)
OPF = (
    b'<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
    b'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>T</dc:title></metadata>'
    b'<manifest><item id="c" href="c.xhtml" media-type="application/xhtml+xml"/></manifest>'
    b'<spine><itemref idref="c"/></spine></package>'
)


class _CountingDecompressor:
    """A zlib decompressor that adds what it inflates to a shared tally."""

    def __init__(self, inner: Any, tally: list[int]) -> None:
        self._inner = inner
        self._tally = tally

    def decompress(self, data: bytes, *args: int) -> bytes:
        out = self._inner.decompress(data, *args)
        self._tally[0] += len(out)
        return out

    def flush(self, *args: int) -> bytes:
        out = self._inner.flush(*args)
        self._tally[0] += len(out)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@contextmanager
def bounded(megabytes: int = 64, inflated_megabytes: int = 4) -> Iterator[None]:
    """Fail if the block allocates (Python-visible memory) or inflates more than allowed.

    Work is counted, not timed: a parser that expands a bomb or a lying header without bound
    inflates far more than the budget, however fast or slow the machine is. zipfile and pypdf
    both inflate through ``zlib.decompressobj``.
    """
    tally = [0]
    real = zlib.decompressobj

    def counting(*args: Any, **kwargs: Any) -> _CountingDecompressor:
        return _CountingDecompressor(real(*args, **kwargs), tally)

    tracemalloc.start()
    try:
        with mock.patch.object(zlib, "decompressobj", counting):
            yield
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < megabytes * MB, f"peaked at {peak / MB:.0f} MB"
        assert tally[0] <= inflated_megabytes * MB, f"inflated {tally[0] / MB:.1f} MB"


def refused(data: bytes, name: str, match: str, limits: ParseLimits | None = None) -> str:
    with bounded(), pytest.raises(DocumentError, match=match) as info:
        parse_document(data, name, limits or ParseLimits())
    reason = info.value.reason
    assert "Traceback" not in reason and len(reason) < 300
    return reason


# -- raw zip writing, so tests can forge headers and stream huge entries cheaply ---------------


def zeros_deflate(size: int) -> tuple[bytes, int]:
    """Raw deflate data of ``size`` zero bytes and its CRC, built from one repeated block."""
    chunk = bytes(MB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(size // MB):
        crc = zlib.crc32(chunk, crc)
    return block * (size // MB) + compressor.flush(zlib.Z_FINISH), crc


def raw_zip(entries: list[tuple[str, bytes, int, int, int, int]]) -> bytes:
    """Entries are (name, payload, method, crc, compressed size, declared size)."""
    out = io.BytesIO()
    central = []
    for name, payload, method, crc, csize, usize in entries:
        offset = out.tell()
        encoded = name.encode()
        out.write(
            struct.pack(
                "<4sHHHHHIIIHH",
                b"PK\x03\x04",
                20,
                0,
                method,
                0,
                0,
                crc,
                csize,
                usize,
                len(encoded),
                0,
            )
        )
        out.write(encoded)
        out.write(payload)
        central.append(
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                20,
                20,
                0,
                method,
                0,
                0,
                crc,
                csize,
                usize,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    start = out.tell()
    for record in central:
        out.write(record)
    size = out.tell() - start
    out.write(
        struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(central), len(central), size, start, 0)
    )
    return out.getvalue()


def stored(name: str, data: bytes) -> tuple[str, bytes, int, int, int, int]:
    return (name, data, 0, zlib.crc32(data), len(data), len(data))


def epub_entries() -> list[tuple[str, bytes, int, int, int, int]]:
    return [
        stored("mimetype", b"application/epub+zip"),
        stored("META-INF/container.xml", CONTAINER),
        stored("content.opf", OPF),
    ]


def epub_with_chapter(chapter: bytes) -> bytes:
    return raw_zip([*epub_entries(), stored("c.xhtml", chapter)])


# -- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["empty.txt", "empty.md", "empty.docx", "empty.epub", "e.pdf"])
def test_empty_files(name: str) -> None:
    assert refused(b"", name, "no text") == "The book contains no text."


def test_unknown_extension() -> None:
    reason = refused(b"MZ\x90\x00", "setup.exe", "Unsupported file type")
    assert reason.startswith("Unsupported file type '.exe'; supported: .txt")
    refused(b"hello", "README", "Unsupported file type")


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (os.urandom(4096), "random.epub", "The file is named .epub but is not an EPUB."),
        (b"just some text", "book.pdf", "The file is named .pdf but is not a PDF."),
        (
            b"%PDF-1.4 not really",
            "book.docx",
            "The file is named .docx but is not a Word document.",
        ),
        (b"PK\x03\x04" + os.urandom(200), "book.docx", "is not a Word document"),
        (
            b"PK\x03\x04" + b"\x00" * 60,
            "book.txt",
            "The file is named .txt but is not a text file.",
        ),
    ],
)
def test_content_must_match_extension(data: bytes, name: str, message: str) -> None:
    assert message in refused(data, name, "is named")


def test_epub_with_wrong_mimetype() -> None:
    entries = epub_entries()
    entries[0] = stored("mimetype", b"application/zip")
    refused(raw_zip(entries), "x.epub", "not an EPUB")


def test_zip_bomb_disguised_as_epub() -> None:
    payload, crc = zeros_deflate(500 * MB)
    bomb = raw_zip([*epub_entries(), ("c.xhtml", payload, 8, crc, len(payload), 500 * MB)])
    assert len(bomb) < 2 * MB
    assert "zip bomb" in refused(bomb, "bomb.epub", "zip bomb")


def test_zip_bomb_disguised_as_docx() -> None:
    payload, crc = zeros_deflate(500 * MB)
    bomb = raw_zip(
        [
            stored("[Content_Types].xml", b"<Types/>"),
            stored("word/document.xml", b"<w:document/>"),
            ("word/media/image1.png", payload, 8, crc, len(payload), 500 * MB),
        ]
    )
    refused(bomb, "bomb.docx", "zip bomb")


def test_many_small_bombs_exceed_total_size() -> None:
    payload, crc = zeros_deflate(2 * MB)
    entries = [(f"OEBPS/{i}.bin", payload, 8, crc, len(payload), 2 * MB) for i in range(40)]
    limits = ParseLimits(max_uncompressed_bytes=50 * MB, max_compression_ratio=10_000)
    refused(raw_zip([*epub_entries(), *entries]), "b.epub", "zip bomb", limits)


def test_lying_header_cannot_expand_without_bound() -> None:
    # The header declares 3,000 bytes, the data inflates to 500 MB: reading must stop early.
    payload, _ = zeros_deflate(500 * MB)
    crc_of_prefix = zlib.crc32(bytes(3000))
    liar = raw_zip([*epub_entries(), ("c.xhtml", payload, 8, crc_of_prefix, len(payload), 3000)])
    refused(liar, "liar.epub", "corrupt")


def test_lying_header_in_docx() -> None:
    payload, _ = zeros_deflate(300 * MB)
    liar = raw_zip(
        [
            stored("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", payload, 8, zlib.crc32(bytes(100)), len(payload), 100),
        ]
    )
    refused(liar, "liar.docx", "corrupt")


def test_encrypted_zip_entries_are_refused() -> None:
    entries = epub_entries()
    name, data, method, crc, csize, usize = stored("c.xhtml", b"<html/>")
    raw = raw_zip([*entries, (name, data, method, crc, csize, usize)])
    # Set the "encrypted" flag bit in the last entry's local and central headers.
    local = raw.rfind(b"PK\x03\x04")
    central = raw.rfind(b"PK\x01\x02")
    forged = bytearray(raw)
    forged[local + 6] |= 1
    forged[central + 8] |= 1
    refused(bytes(forged), "locked.epub", "encrypted")


def test_unsupported_compression_method() -> None:
    data = b"<html/>"
    raw = raw_zip([*epub_entries(), ("c.xhtml", data, 12, zlib.crc32(data), len(data), len(data))])
    refused(raw, "bz.epub", "compression method")


def test_too_many_entries() -> None:
    entries = [*epub_entries(), *(stored(f"f{i}.txt", b"x") for i in range(50))]
    refused(raw_zip(entries), "many.epub", "too many files", ParseLimits(max_zip_entries=20))


def test_forged_directory_size_is_refused_before_reading_it() -> None:
    # 200,000 minimal directory records: zipfile would build one object for each.
    entries = epub_entries()
    raw = raw_zip(entries)
    end = raw.rfind(b"PK\x05\x06")
    record = b"PK\x01\x02" + bytes(42) + b"x"
    directory = record * 200_000
    forged = (
        raw[:end]
        + directory
        + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, len(directory), end, 0)
    )
    refused(forged, "huge.epub", "too many files")


def test_input_size_limit() -> None:
    refused(b"word " * 1000, "big.txt", "too large", ParseLimits(max_input_bytes=1000))


def test_character_limit() -> None:
    refused(b"word " * 1000, "long.txt", "too long", ParseLimits(max_chars=100))


def test_truncated_docx() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", b"<Types/>" * 200)
        zf.writestr("word/document.xml", b"<w:document>" + b"x" * 5000 + b"</w:document>")
    data = out.getvalue()
    refused(data[: len(data) - 30], "cut.docx", "corrupt|not a Word")
    refused(data[:300], "cut.docx", "corrupt|not a Word")


def test_zero_byte_and_garbage_zip_members() -> None:
    refused(raw_zip([*epub_entries()]), "nochapters.epub", "no text")
    refused(epub_with_chapter(b"\x00\x01garbage"), "g.epub", "corrupt")


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE html [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<html xmlns="http://www.w3.org/1999/xhtml"><body><p>&xxe;</p></body></html>"""

LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b']><html xmlns="http://www.w3.org/1999/xhtml"><body><p>&lol9;</p></body></html>'
)


def test_xxe_in_epub_is_refused() -> None:
    assert "entities" in refused(epub_with_chapter(XXE), "xxe.epub", "entities")


def test_xxe_in_opf_is_refused() -> None:
    entries = epub_entries()
    entries[2] = stored("content.opf", OPF.replace(b"<package", XXE[22:80] + b"<package", 1))
    refused(
        raw_zip([*entries, stored("c.xhtml", b"<html><body><p>x</p></body></html>")]),
        "xxe.epub",
        "entities|corrupt",
    )


def test_billion_laughs_in_epub_is_refused() -> None:
    refused(epub_with_chapter(LAUGHS), "lol.epub", "entities")


def test_parser_itself_never_expands_entities() -> None:
    # Defence in depth: even without the up-front refusal, the parser leaves entities alone.
    root = etree.fromstring(XXE, make_parser())
    assert "root:" not in "".join(root.itertext())
    with bounded(megabytes=32):
        try:
            root = etree.fromstring(LAUGHS, make_parser())
            assert len("".join(root.itertext())) < 1000
        except etree.XMLSyntaxError:
            pass  # libxml2's amplification guard is an equally good outcome


def test_docx_with_doctype_is_refused() -> None:
    raw = raw_zip(
        [
            stored("[Content_Types].xml", b"<Types/>"),
            stored("word/document.xml", XXE),
        ]
    )
    refused(raw, "xxe.docx", "DTD or entities")


def test_deeply_nested_xhtml() -> None:
    deep = b"<html><body>" + b"<div>" * 5000 + b"x" + b"</div>" * 5000 + b"</body></html>"
    refused(epub_with_chapter(deep), "deep.epub", "corrupt")


def test_corrupt_pdf() -> None:
    refused(b"%PDF-1.7\n" + os.urandom(3000), "junk.pdf", "corrupt|no text layer")


def test_random_bytes_for_every_format() -> None:
    blob = os.urandom(20_000)
    for name in ("a.txt", "a.md", "a.docx", "a.epub", "a.pdf"):
        with bounded():
            with pytest.raises(DocumentError):
                parse_document(blob, name)
