"""Gemini's REST API (``generativelanguage``), whose body and answers Vertex AI shares.

Literary translation routinely contains violence, sex and hate speech as *content*; the
default safety thresholds block whole chapters of ordinary novels, so every harm category is
set to ``BLOCK_NONE`` (the provider's non-configurable filters still apply and surface as
``SafetyBlocked``).
"""

from __future__ import annotations

from typing import Any, NoReturn

import httpx

from folio.contracts.providers import ProviderConfig, key_id
from folio_worker.llm.keys import Credential
from folio_worker.llm.providers.base import (
    Answer,
    AttemptFailed,
    Tokens,
    error_object,
    header_retry_after,
    json_body,
    redact,
    seconds,
    status_detail,
    status_outcome,
)
from folio_worker.llm.providers.schemas import gemini_response_schema
from folio_worker.llm.types import Finish, LLMRequest

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"

HARM_CATEGORIES = (
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
)
_BLOCKED_FINISH = frozenset(
    {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY", "RECITATION"}
)
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


def model_path(model: str) -> str:
    """``models/gemini-x`` and ``gemini-x`` both name the model ``gemini-x``."""
    return model.removeprefix("models/")


def generate_body(config: ProviderConfig, request: LLMRequest) -> dict[str, Any]:
    """The ``generateContent`` body (identical for Gemini and Vertex AI)."""
    body: dict[str, Any] = {
        "contents": [{"role": "user", "parts": [{"text": request.prompt}]}],
        "safetySettings": [
            {"category": category, "threshold": "BLOCK_NONE"} for category in HARM_CATEGORIES
        ],
    }
    if request.system:
        body["systemInstruction"] = {"parts": [{"text": request.system}]}
    generation: dict[str, Any] = {}
    if request.max_output_tokens is not None:
        generation["maxOutputTokens"] = request.max_output_tokens
    if request.temperature is not None:
        generation["temperature"] = request.temperature
    if request.schema is not None:
        generation["responseMimeType"] = "application/json"
        field, schema = gemini_response_schema(request.schema)
        generation[field] = schema
    level = config.thinking_level
    if level is None and "gemini-3" in config.model.lower():
        level = "low"  # translation gains little from long thinking; it costs latency and tokens
    if level is not None:
        generation["thinkingConfig"] = {"thinkingLevel": level}
    if generation:
        body["generationConfig"] = generation
    return body


def parse_generate(response: httpx.Response, secrets: tuple[str, ...]) -> Answer:
    """A ``GenerateContentResponse`` as an answer; errors as ``AttemptFailed``."""
    body = json_body(response)
    if response.status_code >= 400:
        fail(response, body, secrets)
    if not isinstance(body, dict):
        raise AttemptFailed("5xx", "the server answered with a body that is not JSON")
    tokens = _tokens(body)
    candidates = body.get("candidates")
    if not isinstance(candidates, list) or not candidates:
        feedback = body.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            raise AttemptFailed("safety_prompt", "the prompt was blocked", tokens=tokens)
        return Answer(text="", finish="stop", tokens=tokens)
    candidate = candidates[0] if isinstance(candidates[0], dict) else {}
    text = _text(candidate)
    reason = str(candidate.get("finishReason") or "STOP")
    if reason in _BLOCKED_FINISH:
        # A partial answer cut by the filter is not a translation either: rephrase.
        raise AttemptFailed("safety_candidate", f"the answer was blocked ({reason})", tokens=tokens)
    finish: Finish = "length" if reason == "MAX_TOKENS" else "stop"
    return Answer(text=text, finish=finish, tokens=tokens)


def fail(response: httpx.Response, body: Any, secrets: tuple[str, ...]) -> NoReturn:
    """Map a Google error answer (``{"error": {code, status, message, details}}``)."""
    status = response.status_code
    error = error_object(body)
    message = str(error.get("message") or "")
    details = error.get("details") if isinstance(error.get("details"), list) else []
    if status in (401, 403) or (status == 400 and _key_invalid(message, details)):
        raise AttemptFailed("auth", f"the credential was refused ({status})")
    retryable = status_outcome(status)
    if retryable is not None:
        hints = [header_retry_after(response.headers), _retry_delay(details)]
        given = [h for h in hints if h is not None]
        raise AttemptFailed(
            retryable,
            status_detail(status),
            retry_after_s=max(given) if given else None,
        )
    detail = redact(message, secrets) or "no details"
    raise AttemptFailed("bad_request", f"the request was rejected ({status}): {detail}")


def _key_invalid(message: str, details: list[Any]) -> bool:
    if "api key not valid" in message.lower():
        return True
    return any(isinstance(d, dict) and d.get("reason") == "API_KEY_INVALID" for d in details)


def _retry_delay(details: list[Any]) -> float | None:
    for detail in details:
        if isinstance(detail, dict) and detail.get("@type") == _RETRY_INFO:
            delay = detail.get("retryDelay")
            if isinstance(delay, str):
                return seconds(delay.strip().removesuffix("s"))
            if isinstance(delay, dict):  # {"seconds": n, "nanos": m} in some renderings
                whole = seconds(delay.get("seconds", 0)) or 0.0
                return whole + (seconds(delay.get("nanos", 0)) or 0.0) / 1e9
    return None


def _text(candidate: dict[str, Any]) -> str:
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list):
        return ""
    return "".join(
        part["text"]
        for part in parts
        if isinstance(part, dict) and isinstance(part.get("text"), str) and not part.get("thought")
    )


def _tokens(body: dict[str, Any]) -> Tokens:
    usage = body.get("usageMetadata")
    if not isinstance(usage, dict):
        return Tokens()

    def count(name: str) -> int:
        value = usage.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    return Tokens(
        input=count("promptTokenCount"),
        output=count("candidatesTokenCount"),
        thinking=count("thoughtsTokenCount"),
    )


class GeminiProvider:
    label = "Gemini API"
    refused_reason = "every API key was refused (403)"

    def __init__(self, config: ProviderConfig) -> None:
        self._config = config
        base = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._url = f"{base}/v1beta/models/{model_path(config.model)}:generateContent"

    def credentials(self) -> list[Credential]:
        return [Credential(key_id(k), k) for k in self._config.api_keys]

    async def build(self, request: LLMRequest, credential: Credential) -> httpx.Request:
        # The key goes in a header, never in the URL (URLs end up in logs and traces).
        return httpx.Request(
            "POST",
            self._url,
            json=generate_body(self._config, request),
            headers={"x-goog-api-key": credential.secret},
        )

    def parse(self, request: LLMRequest, response: httpx.Response) -> Answer:
        return parse_generate(response, self._config.api_keys)
