"""Failures of a model call, by what the engine should do about them.

Every exception carries ``reason``: a sentence fit to show a user. Reasons never contain a
key, a token or a provider message that could echo one (see ``providers.base.redact``).
"""

from __future__ import annotations

from typing import Literal

SafetyKind = Literal[
    "safety",  # the configurable harm filter (Gemini SAFETY, OpenAI content_filter)
    "prohibited",  # content the provider never produces (Gemini PROHIBITED_CONTENT)
    "spii",  # the answer held sensitive personal data (Gemini SPII)
    "blocklist",  # the answer hit a terminology blocklist (Gemini BLOCKLIST)
    "recitation",  # the answer recited training data too closely (Gemini RECITATION)
    "moderation",  # a gateway's moderation flagged the prompt (OpenRouter 403)
    "refusal",  # the model refused (OpenAI refusal, Anthropic stop_reason refusal)
]


class LLMError(Exception):
    """Base class: the call produced no usable answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SafetyBlocked(LLMError):
    """The provider's safety system refused the prompt or withheld the answer.

    Never retried by the client as it is: the same prompt would be blocked again, so the
    engine rephrases instead. ``rephrasable`` is False where new instructions cannot help
    (the text itself is what the provider never outputs).
    """

    def __init__(
        self,
        level: Literal["prompt", "candidate"],
        reason: str | None = None,
        *,
        kind: SafetyKind = "safety",
        rephrasable: bool = True,
    ) -> None:
        what = "prompt" if level == "prompt" else "answer"
        super().__init__(reason or f"the provider's safety filter blocked the {what}")
        self.level: Literal["prompt", "candidate"] = level
        self.kind: SafetyKind = kind
        self.rephrasable = rephrasable


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


class LLMOutputTruncated(LLMError):
    """The answer does not fit the model's output limit even after raising it: only a
    smaller request (fewer terms, a shorter chunk) can succeed."""


class InvalidStructuredOutput(LLMError):
    """The model never produced JSON that validated against the schema."""

    def __init__(self, reason: str, *, attempts: int) -> None:
        super().__init__(reason)
        self.attempts = attempts


class LLMDeferred(Exception):
    """Waiting for the key would hold the command too long (a long ``Retry-After``, every
    key resting, or pacing slots far ahead): the command should be re-queued with a delay.

    Not an ``LLMError`` on purpose: code that tolerates failed calls (a skipped analysis
    chunk) must not swallow it; it goes up to the message handler.
    """

    def __init__(self, retry_after_s: float, reason: str) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s
        self.reason = reason


class SpendRefused(Exception):
    """The call was not made: it would pass the job's spending cap or the user's daily
    allowance. Deliberately not an ``LLMError``: code that tolerates failed calls (a
    skipped analysis chunk) must not swallow it; the job pauses instead. ``max_tokens``:
    the cap that refused it (None when the daily allowance did)."""

    def __init__(self, reason: str, max_tokens: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.max_tokens = max_tokens


class CallsStopped(Exception):
    """A sibling call of the same command ended it (deferred, refused, failed): no new
    call is started for it. Not an ``LLMError`` either."""

    def __init__(self, reason: str = "the command stopped") -> None:
        super().__init__(reason)
        self.reason = reason
