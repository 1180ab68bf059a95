"""Failures of a model call, by what the engine should do about them.

Every exception carries ``reason``: a sentence fit to show a user. Reasons never contain a
key, a token or a provider message that could echo one (see ``providers.base.redact``).
"""

from __future__ import annotations

from typing import Literal


class LLMError(Exception):
    """Base class: the call produced no usable answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SafetyBlocked(LLMError):
    """The provider's safety system refused the prompt or withheld the answer.

    Never retried by the client: the same prompt would be blocked again, so the engine
    rephrases instead.
    """

    def __init__(self, level: Literal["prompt", "candidate"], reason: str | None = None) -> None:
        what = "prompt" if level == "prompt" else "answer"
        super().__init__(reason or f"the provider's safety filter blocked the {what}")
        self.level: Literal["prompt", "candidate"] = level


class LLMExhausted(LLMError):
    """Transient failures (429, 5xx, timeouts, connection errors) outlasted the attempts."""

    def __init__(self, reason: str, *, last_outcome: str, attempts: int) -> None:
        super().__init__(reason)
        self.last_outcome = last_outcome
        self.attempts = attempts


class LLMAuthError(LLMError):
    """Every credential was refused; nothing will work until the user fixes them."""


class LLMBadRequest(LLMError):
    """The provider rejected the request itself (e.g. context too long, unknown model)."""


class InvalidStructuredOutput(LLMError):
    """The model never produced JSON that validated against the schema."""

    def __init__(self, reason: str, *, attempts: int) -> None:
        super().__init__(reason)
        self.attempts = attempts
