"""Reading a job's uploaded book, and telling whether it still reads the same."""

from __future__ import annotations

import hashlib

from folio.storage import BlobStorage, StorageError
from folio_worker.engine.documents import Document, DocumentError
from folio_worker.engine.isolation import DocumentProcessor


async def read_upload(storage: BlobStorage, key: str) -> bytes:
    try:
        return await storage.read_bytes(key)
    except StorageError as exc:
        raise DocumentError("The uploaded file is no longer available.") from exc


async def read_book(
    storage: BlobStorage, documents: DocumentProcessor, key: str, filename: str
) -> tuple[bytes, Document]:
    """The upload's bytes and the book parsed from them (in the isolated parser)."""
    data = await read_upload(storage, key)
    return data, await documents.parse(data, filename)


def document_fingerprint(document: Document) -> str:
    digest = hashlib.sha256()
    for block in document.blocks:
        digest.update(block.text.encode())
        digest.update(b"\0")
    return digest.hexdigest()
