"""The small protocol between the client and a provider, plus helpers they share.

A provider only translates: a request into HTTP, and an HTTP answer into an ``Answer`` or an
``AttemptFailed`` that names the outcome. Retrying, pacing, key rotation and accounting live
in the client, so they behave the same for every provider.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from folio_worker.llm.errors import SafetyKind
from folio_worker.llm.keys import Credential
from folio_worker.llm.types import Finish, LLMRequest, Outcome


@dataclass(frozen=True)
class Tokens:
    """As the provider reported them: ``output`` excludes ``thinking`` (each token counted
    once), ``cached`` is the part of ``input`` read from the provider's prompt cache."""

    input: int = 0
    output: int = 0
    thinking: int = 0
    cached: int = 0


@dataclass(frozen=True)
class Answer:
    text: str
    finish: Finish
    tokens: Tokens


class AttemptFailed(Exception):
    """One attempt failed; ``outcome`` tells the client what to do next.

    ``recoverable`` means the provider has already changed something (switched to a
    fallback format, dropped a stale token) so that an immediate retry may succeed; the
    client grants that once per outcome and call.
    """

    def __init__(
        self,
        outcome: Outcome,
        detail: str,
        *,
        retry_after_s: float | None = None,
        tokens: Tokens | None = None,
        recoverable: bool = False,
        safety: SafetyKind | None = None,
        rephrasable: bool = True,
    ) -> None:
        super().__init__(detail)
        self.outcome: Outcome = outcome
        self.detail = detail
        self.retry_after_s = retry_after_s
        self.tokens = tokens or Tokens()
        self.recoverable = recoverable
        # For safety outcomes: what kind of block, and whether new instructions can help.
        self.safety: SafetyKind | None = safety
        self.rephrasable = rephrasable


class Provider(Protocol):
    """One wire protocol (OpenAI-compatible, Gemini, Vertex AI)."""

    label: str  # for reasons shown to users, e.g. "Gemini"

    def credentials(self) -> list[Credential]:
        """The credentials the key pool rotates over."""
        ...

    async def build(self, request: LLMRequest, credential: Credential) -> httpx.Request:
        """The HTTP request for one attempt (may raise ``AttemptFailed`` or ``LLMError``)."""
        ...

    def parse(self, request: LLMRequest, response: httpx.Response) -> Answer:
        """The answer of a response, or ``AttemptFailed`` (safety blocks included)."""
        ...


# Provider messages are only shown after redaction: some echo (part of) the key.
_SECRET_PATTERNS = (
    re.compile(r"sk-[A-Za-z0-9_\-*.]{4,}"),
    re.compile(r"AIza[0-9A-Za-z_\-]{8,}"),
    re.compile(r"ya29\.[0-9A-Za-z_\-.]+"),
    re.compile(r"(?i)bearer\s+\S+"),
)


# Keys shorter than this (local servers' dummies: "x", "ollama", "none") are only redacted
# where they stand alone, so that "x" never turns "tokens" into "to[redacted]ens".
_SHORT_SECRET = 12


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without any known secret or anything shaped like a key; kept short."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        if len(secret) >= _SHORT_SECRET:
            text = text.replace(secret, "[redacted]")
        else:
            alone = rf"(?<![A-Za-z0-9_\-]){re.escape(secret)}(?![A-Za-z0-9_\-])"
            text = re.sub(alone, "[redacted]", text)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub("[redacted]", text)
    text = " ".join(text.split())
    return text[:300] + ("…" if len(text) > 300 else "")


def json_body(response: httpx.Response) -> Any:
    """The decoded JSON body, or ``None`` when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def error_object(body: Any) -> dict[str, Any]:
    """The ``error`` object both OpenAI and Google use, or ``{}``."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    return {}


def seconds(value: Any) -> float | None:
    """A non-negative number of seconds from a header or JSON value, else ``None``."""
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if number >= 0 else None


def header_retry_after(headers: httpx.Headers) -> float | None:
    """``retry-after-ms`` (OpenAI) or ``Retry-After`` (seconds or an HTTP date)."""
    candidates: list[float] = []
    millis = seconds(headers.get("retry-after-ms", ""))
    if millis is not None:
        candidates.append(millis / 1000.0)
    raw = headers.get("retry-after")
    if raw:
        value = seconds(raw)
        if value is None:
            try:
                when = email.utils.parsedate_to_datetime(raw).timestamp()
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                value = max(0.0, when - time.time())
        if value is not None:
            candidates.append(value)
    return max(candidates) if candidates else None


def status_outcome(status: int) -> Outcome | None:
    """Outcome of a retryable status, ``None`` when retrying cannot help."""
    if status == 429:
        return "429"
    if status in (408, 409, 425) or status >= 500:
        return "timeout" if status == 408 else "5xx"
    return None


_STATUS_NAMES = {
    401: "401 unauthorized",
    402: "402 payment required",
    403: "403 forbidden",
    408: "408 request timeout",
    429: "429 rate limited",
    529: "529 overloaded",
}


def status_detail(status: int) -> str:
    """How a status reads in a reason ("429 rate limited", "401 unauthorized", …)."""
    if status in _STATUS_NAMES:
        return _STATUS_NAMES[status]
    return f"server error {status}" if status >= 500 else f"status {status}"


def error_message(body: Any) -> str:
    """The provider's message wherever its server puts it: ``error.message`` (OpenAI and
    most), a top-level ``message`` (older vLLM), ``error`` as a string (Ollama's native
    API), ``detail`` (FastAPI servers such as llama-cpp-python's key check)."""
    error = error_object(body)
    if error.get("message") is not None:
        return str(error["message"])
    if isinstance(body, dict):
        for field in ("message", "error", "detail"):
            if isinstance(body.get(field), str):
                return body[field]
    return ""
