"""Decide the format of an upload from its name, and check the bytes agree.

The extension says what the user meant; the content says what the file is. Trusting either
alone would let a renamed executable or archive reach a parser that was never meant for it,
so both must agree before any real parsing starts.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath, PureWindowsPath

from folio_worker.engine.documents.limits import ParseLimits
from folio_worker.engine.documents.model import DocumentError, DocumentFormat
from folio_worker.engine.documents.safezip import precheck_directory

EXTENSIONS: dict[str, DocumentFormat] = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".docx": "docx",
    ".epub": "epub",
    ".pdf": "pdf",
}
SUPPORTED = ", ".join(EXTENSIONS)
_NAMES: dict[DocumentFormat, str] = {
    "txt": "a text file",
    "md": "a Markdown text file",
    "docx": "a Word document",
    "epub": "an EPUB",
    "pdf": "a PDF",
}
_LABELS: dict[DocumentFormat, str] = {"docx": "DOCX", "epub": "EPUB"}
# Containers and images that are never text; other binaries are caught by the decoder (NULs).
_BINARY_MAGIC = (b"PK\x03\x04", b"%PDF-", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")
_PDF_MAGIC = b"%PDF-"
_PDF_MAGIC_WINDOW = 1024  # the spec tolerates junk before the header


def format_from_filename(filename: str) -> DocumentFormat:
    """The format named by the file's extension (case-insensitive)."""
    name = PureWindowsPath(PurePosixPath(filename).name).name
    suffix = PurePosixPath(name).suffix.lower()
    fmt = EXTENSIONS.get(suffix)
    if fmt is None:
        shown = f"'{suffix}'" if suffix else "(no extension)"
        raise DocumentError(f"Unsupported file type {shown}; supported: {SUPPORTED}.")
    return fmt


def check_content(
    fmt: DocumentFormat, data: bytes, extension: str, limits: ParseLimits = ParseLimits()
) -> None:
    """Refuse content that does not match the format the extension claims."""
    if fmt in ("docx", "epub"):
        if not data.startswith(b"PK\x03\x04"):
            raise mismatch(fmt, extension)
        precheck_directory(data, limits, _LABELS[fmt])
        if not _zip_structure_matches(fmt, data):
            raise mismatch(fmt, extension)
    elif fmt == "pdf":
        if _PDF_MAGIC not in data[:_PDF_MAGIC_WINDOW]:
            raise mismatch(fmt, extension)
    elif data.startswith(_BINARY_MAGIC):
        raise mismatch(fmt, extension)


def extension_of(filename: str) -> str:
    return PurePosixPath(PureWindowsPath(PurePosixPath(filename).name).name).suffix.lower()


def _zip_structure_matches(fmt: DocumentFormat, data: bytes) -> bool:
    """Look only at the central directory (and the tiny mimetype entry) for the inner layout."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if fmt == "docx":
                return "word/document.xml" in names
            if "META-INF/container.xml" not in names:
                return False
            if "mimetype" not in names:
                return True  # tolerated: some producers forget it, container.xml is what matters
            info = archive.getinfo("mimetype")
            if info.file_size > 100 or info.flag_bits & 0x1:
                return False
            with archive.open(info) as handle:
                return handle.read(101).strip() == b"application/epub+zip"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        return False
    except NotImplementedError:
        return False


def mismatch(fmt: DocumentFormat, extension: str) -> DocumentError:
    """The error for content that is not what its extension says."""
    return DocumentError(f"The file is named {extension} but is not {_NAMES[fmt]}.")
