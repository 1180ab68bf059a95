"""Local blob storage: generated keys, no escape from the root, size limits, atomic writes."""

import pytest

from folio.storage import BlobTooLarge, LocalStorage, StorageError


async def chunks(*parts: bytes):
    for part in parts:
        yield part


async def test_put_stream_generates_a_key_and_hashes(tmp_path):
    storage = LocalStorage(tmp_path)
    blob = await storage.put_stream("uploads", chunks(b"hello ", b"world"))
    assert blob.key.startswith("uploads/") and len(blob.key) == len("uploads/") + 32
    assert blob.size == 11
    assert await storage.read_bytes(blob.key) == b"hello world"
    assert [c async for c in storage.iter_chunks(blob.key)] == [b"hello world"]


async def test_oversized_stream_is_refused_and_leaves_nothing(tmp_path):
    storage = LocalStorage(tmp_path)
    with pytest.raises(BlobTooLarge):
        await storage.put_stream("uploads", chunks(b"x" * 10, b"y" * 10), max_bytes=15)
    assert not any(p.is_file() for p in (tmp_path / "uploads").rglob("*"))


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "uploads/../../x", "/abs", "Uploads/X", "a//b", "a/.hidden", ""]
)
async def test_unsafe_keys_are_refused(tmp_path, key):
    storage = LocalStorage(tmp_path)
    with pytest.raises(StorageError):
        await storage.read_bytes(key)


async def test_put_bytes_with_a_name_overwrites_atomically(tmp_path):
    storage = LocalStorage(tmp_path)
    first = await storage.put_bytes("jobs/1/output", b"one", name="translated.txt")
    second = await storage.put_bytes("jobs/1/output", b"two", name="translated.txt")
    assert first.key == second.key == "jobs/1/output/translated.txt"
    assert await storage.read_bytes(first.key) == b"two"
    await storage.delete_prefix("jobs/1")
    assert not await storage.exists(first.key)


async def test_missing_blob_is_a_storage_error(tmp_path):
    with pytest.raises(StorageError):
        await LocalStorage(tmp_path).read_bytes("uploads/nothing")
