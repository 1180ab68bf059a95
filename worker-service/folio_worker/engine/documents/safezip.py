"""Read DOCX/EPUB containers without trusting their headers.

A zip can declare tiny sizes and expand to gigabytes, list millions of entries, or compress
one byte pattern a thousand-fold. Every entry's declared size and compression ratio are
checked before anything is decompressed, and entries are read in small chunks that stop at
the declared size, so a lying header cannot make the worker expand data without bound.
"""

from __future__ import annotations

import io
import posixpath
import struct
import zipfile

from folio_worker.engine.documents.limits import ParseLimits, describe_bytes
from folio_worker.engine.documents.model import DocumentError

ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 64 * 1024
# Entries this small cannot hurt, whatever their ratio (tiny XML parts often compress 300x).
_RATIO_FLOOR_BYTES = 1024 * 1024
_SUPPORTED_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_EOCD_SEARCH = 65_535 + _EOCD.size
# A central-directory record is 46 bytes plus the name; real names stay far below this average.
_MAX_RECORD_BYTES = 512


class SafeZip:
    """An opened, pre-checked zip archive held in memory."""

    def __init__(self, data: bytes, limits: ParseLimits, label: str) -> None:
        self.label = label
        precheck_directory(data, limits, label)
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
            raise DocumentError(
                f"The file looks corrupt: not a readable {label} ({exc})."
            ) from None
        _check_entries(infos, limits, label)
        self.infos: tuple[zipfile.ZipInfo, ...] = tuple(infos)
        self._by_name = {info.filename: info for info in infos}

    def has(self, name: str) -> bool:
        return name in self._by_name

    def read(self, name: str) -> bytes:
        """Read one entry by name, refusing unsafe names and missing entries."""
        if not is_safe_name(name):
            raise DocumentError(f"The {self.label} refers to an unsafe path: {name!r}.")
        info = self._by_name.get(name)
        if info is None:
            raise DocumentError(f"The file looks corrupt: the {self.label} has no entry {name!r}.")
        return self.read_info(info)

    def read_info(self, info: zipfile.ZipInfo) -> bytes:
        """Read an entry in bounded chunks; never returns more than its declared size."""
        limit = info.file_size
        chunks: list[bytes] = []
        total = 0
        try:
            with self._zip.open(info) as handle:
                while True:
                    chunk = handle.read(_CHUNK)
                    if not chunk:
                        break
                    total += len(chunk)
                    if total > limit:
                        raise DocumentError(
                            f"The file looks corrupt: the {self.label} entry {info.filename!r} "
                            "is larger than its header says."
                        )
                    chunks.append(chunk)
        except DocumentError:
            raise
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError) as exc:
            raise DocumentError(
                f"The file looks corrupt: cannot read {info.filename!r} from the {self.label} "
                f"({exc})."
            ) from None
        return b"".join(chunks)


def precheck_directory(data: bytes, limits: ParseLimits, label: str) -> None:
    """Refuse archives whose central directory is too big *before* zipfile builds it in memory.

    zipfile materialises one object per directory record, so a forged directory with millions
    of records would exhaust memory before ``max_zip_entries`` could be checked.
    """
    position = data.rfind(b"PK\x05\x06", max(0, len(data) - _EOCD_SEARCH))
    if position < 0 or position + _EOCD.size > len(data):
        return  # not a zip; zipfile reports that with its own error
    _, _, _, _, count, directory_size, _, _ = _EOCD.unpack_from(data, position)
    locator = position - _ZIP64_LOCATOR.size
    if locator >= 0 and data[locator : locator + 4] == b"PK\x06\x07":
        offset = _ZIP64_LOCATOR.unpack_from(data, locator)[2]
        if 0 <= offset <= len(data) - _ZIP64_EOCD.size:
            record = _ZIP64_EOCD.unpack_from(data, offset)
            if record[0] == b"PK\x06\x06":
                count, directory_size = record[7], record[8]
    if (
        count > limits.max_zip_entries
        or directory_size > limits.max_zip_entries * _MAX_RECORD_BYTES
    ):
        raise DocumentError(
            f"The {label} has too many files inside (the limit is {limits.max_zip_entries:,})."
        )


def is_safe_name(name: str) -> bool:
    """A relative entry path without ``..`` components, drive letters or backslashes."""
    if not name or name.startswith(("/", "\\")) or "\\" in name or "\x00" in name:
        return False
    if len(name) > 1 and name[1] == ":":
        return False
    return ".." not in name.split("/")


def resolve_href(base_dir: str, href: str) -> str | None:
    """Join a (URL-decoded) relative href to the directory of the referring entry.

    Returns None when the result would leave the archive (absolute or ``..`` above the root).
    """
    if not href or href.startswith("/") or "://" in href:
        return None
    joined = posixpath.normpath(posixpath.join(base_dir, href)) if base_dir else href
    joined = posixpath.normpath(joined)
    if joined.startswith("../") or joined == ".." or joined.startswith("/"):
        return None
    return joined if is_safe_name(joined) else None


def _check_entries(infos: list[zipfile.ZipInfo], limits: ParseLimits, label: str) -> None:
    if len(infos) > limits.max_zip_entries:
        raise DocumentError(
            f"The {label} has too many files inside ({len(infos):,}; "
            f"the limit is {limits.max_zip_entries:,})."
        )
    total_size = 0
    total_compressed = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise DocumentError(
                f"The {label} is encrypted (password-protected); please upload an unprotected copy."
            )
        if info.compress_type not in _SUPPORTED_METHODS:
            raise DocumentError(
                f"The file looks corrupt: the {label} uses an unsupported compression method."
            )
        total_size += info.file_size
        total_compressed += info.compress_size
        if info.file_size > _RATIO_FLOOR_BYTES and (
            info.file_size > limits.max_compression_ratio * max(info.compress_size, 1)
        ):
            raise _bomb(label, f"the entry {info.filename!r} is compressed suspiciously well")
        if total_size > limits.max_uncompressed_bytes:
            raise _bomb(
                label,
                f"its contents would take more than "
                f"{describe_bytes(limits.max_uncompressed_bytes)} once uncompressed",
            )
    if total_size > _RATIO_FLOOR_BYTES and (
        total_size > limits.max_compression_ratio * max(total_compressed, 1)
    ):
        raise _bomb(label, "its contents are compressed suspiciously well")


def _bomb(label: str, why: str) -> DocumentError:
    return DocumentError(f"The {label} was refused as a possible zip bomb: {why}.")
