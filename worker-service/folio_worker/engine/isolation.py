"""Parsing and output building run in a child process with a memory cap and a time limit.

A hostile or broken file (a decompression bomb, a pathological PDF) can then only kill
that child: the worker notices, fails the job with a clear reason, replaces the child and
goes on with other work. The child is started once and kept warm.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import multiprocessing
import resource
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from folio_worker.engine.documents import Document, DocumentError, build_outputs, parse_document

log = logging.getLogger(__name__)
T = TypeVar("T")
PARSE_CACHE_SIZE = 4


def _limit_memory(limit_bytes: int) -> None:
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))


def _noop() -> bool:
    return True


class DocumentProcessor:
    def __init__(self, *, memory_limit_mb: int = 2048, timeout_s: float = 120.0) -> None:
        self.memory_limit = memory_limit_mb * 1024 * 1024
        self.timeout_s = timeout_s
        self._pool: ProcessPoolExecutor | None = None
        self._parsed: OrderedDict[tuple[str, str], Document] = OrderedDict()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_limit_memory,
            initargs=(self.memory_limit,),
        )

    async def start(self) -> None:
        self._pool = self._new_pool()
        await self._run(_noop)  # pay the process start-up now, not on the first book

    def _kill(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        for process in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    async def stop(self) -> None:
        self._kill()

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._pool is None:
            self._pool = self._new_pool()
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._pool, fn, *args), timeout=self.timeout_s
            )
        except TimeoutError as exc:
            self._kill()
            raise DocumentError(
                f"Processing the file took longer than {self.timeout_s:.0f} seconds; "
                "it is too large or malformed."
            ) from exc
        except (BrokenProcessPool, MemoryError) as exc:
            self._kill()
            raise DocumentError(
                "Processing the file exceeded the memory limit; it is too large or malformed."
            ) from exc

    async def parse(self, data: bytes, filename: str) -> Document:
        # Assembly re-reads the book it planned: keep the last few parses at hand.
        key = (hashlib.sha256(data).hexdigest(), filename)
        document = self._parsed.get(key)
        if document is None:
            document = await self._run(parse_document, data, filename)
            self._parsed[key] = document
            while len(self._parsed) > PARSE_CACHE_SIZE:
                self._parsed.popitem(last=False)
        else:
            self._parsed.move_to_end(key)
        return document

    async def build(
        self,
        original: bytes,
        document: Document,
        translations: Mapping[int, str],
        *,
        target_language: str,
        bilingual: bool,
        colophon: str | None = None,
        vertical: bool = False,
        labels: Mapping[str, str] | None = None,
    ) -> dict[str, bytes]:
        return await self._run(
            _build,
            original,
            document,
            dict(translations),
            target_language,
            bilingual,
            colophon,
            vertical,
            dict(labels or {}),
        )


def _build(
    original: bytes,
    document: Document,
    translations: dict[int, str],
    target_language: str,
    bilingual: bool,
    colophon: str | None,
    vertical: bool,
    labels: dict[str, str],
) -> dict[str, bytes]:
    return dict(
        build_outputs(
            original,
            document,
            translations,
            target_language=target_language,
            bilingual=bilingual,
            colophon=colophon,
            vertical=vertical,
            labels=labels,
        )
    )
