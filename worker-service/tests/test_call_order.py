"""Calls of a batch start longest expected answer first; their results keep the order of
the document."""

from __future__ import annotations

import asyncio

import pytest

from folio_worker.engine.calls import longest_first


async def test_the_longest_starts_first_and_results_keep_their_places() -> None:
    started: list[int] = []

    async def call(index: int) -> str:
        started.append(index)
        await asyncio.sleep(0)
        return f"answer {index}"

    sizes = [10, 300, 40, 300, 5]
    results = await longest_first(call, sizes)
    assert started == [1, 3, 2, 0, 4]  # ties keep document order
    assert results == [f"answer {i}" for i in range(5)]


async def test_a_failure_is_raised_as_by_all_or_stop() -> None:
    async def call(index: int) -> int:
        if index == 2:
            raise ValueError("refused")
        return index

    with pytest.raises(ValueError, match="refused"):
        await longest_first(call, [1, 2, 3])
    assert await longest_first(call, []) == []
