"""The check every model call passes before it is sent, and settles once it is answered.

The client knows nothing of jobs: the engine supplies a gate that reserves the call's
estimated cost against the job's limits (and refuses with ``SpendRefused``), then settles
what the provider reported and makes the call's usage record durable before the answer
is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CallStart:
    """An HTTP attempt about to be sent: ``cost`` is what it may bill at most as far as
    Folio can tell (its prompt as counted plus its output limit), what it reserves and
    what it is recorded at if its answer is never seen."""

    call_id: str
    model: str
    key_id: str | None
    input_tokens: int  # the prompt, as counted before sending
    output_tokens: int  # the request's output limit (the prompt again without one)

    @property
    def cost(self) -> int:
        return self.input_tokens + self.output_tokens


class CallGate(Protocol):
    async def admit(self, call: CallStart) -> object:
        """Reserve ``call.cost`` tokens for one HTTP attempt; a ticket for ``settle``. A
        ticket with an ``output_limit`` has the call sent with that output limit (what
        it reserved), so its answer cannot bill more than the reservation."""
        ...

    async def settle(self, ticket: object, used: int) -> None:
        """The attempt is over: it used ``used`` tokens (0 when nothing was billed)."""
        ...


class OpenGate:
    """No limits (tests and tools that call a client directly)."""

    async def admit(self, call: CallStart) -> object:
        return None

    async def settle(self, ticket: object, used: int) -> None:
        return None
