"""How far a piece of work has got, for whoever runs it (task monitoring).

The engine calls :func:`report` at natural steps (a unit translated, a chunk analysed);
the command handler decides where reports go (:func:`reporting`). Without a reporter,
reports go nowhere: the engine does not depend on monitoring.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar

Reporter = Callable[[int, int, str | None], Awaitable[None]]

_current: ContextVar[Reporter | None] = ContextVar("folio_progress", default=None)


async def report(done: int, total: int, message: str | None = None) -> None:
    reporter = _current.get()
    if reporter is not None and total > 0:
        await reporter(done, total, message)


@contextlib.contextmanager
def reporting(reporter: Reporter) -> Iterator[None]:
    token = _current.set(reporter)
    try:
        yield
    finally:
        _current.reset(token)
