"""The check every model call passes before it is sent, and settles once it is answered.

The client knows nothing of jobs: the engine supplies a gate that reserves the call's
estimated cost against the job's limits (and refuses with ``SpendRefused``), then settles
what the provider reported and makes the call's usage record durable before the answer
is used.
"""

from __future__ import annotations

from typing import Protocol


class CallGate(Protocol):
    async def admit(self, cost: int) -> object:
        """Reserve ``cost`` tokens for one HTTP attempt; a ticket for ``settle``."""
        ...

    async def settle(self, ticket: object, used: int) -> None:
        """The attempt is over: it used ``used`` tokens (0 when nothing was billed)."""
        ...


class OpenGate:
    """No limits (tests and tools that call a client directly)."""

    async def admit(self, cost: int) -> object:
        return None

    async def settle(self, ticket: object, used: int) -> None:
        return None
