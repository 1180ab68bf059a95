"""A process-wide cap on simultaneous requests per key.

Several jobs of the same user (hence several ``LLMClient`` instances) may share a key, and
providers throttle or drop connections beyond a few dozen parallel requests per key; the
cap therefore belongs to the key, not to the client. Semaphores are bound to an event
loop, so the registry is kept per loop (and forgotten with it).
"""

from __future__ import annotations

import asyncio
import weakref

_registry: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


def key_semaphore(key_id: str, limit: int) -> asyncio.Semaphore:
    """The semaphore of ``key_id`` in the running loop; ``limit`` counts only on creation."""
    loop = asyncio.get_running_loop()
    per_loop = _registry.setdefault(loop, {})
    semaphore = per_loop.get(key_id)
    if semaphore is None:
        semaphore = per_loop[key_id] = asyncio.Semaphore(max(1, limit))
    return semaphore
