"""Gemini's REST API (``generativelanguage``), whose body and answers Vertex AI shares.

Literary translation routinely contains violence, sex and hate speech as *content*; the
default safety thresholds block whole chapters of ordinary novels, so every harm category is
set to ``BLOCK_NONE`` (the provider's non-configurable filters still apply and surface as
``SafetyBlocked``).
"""

from __future__ import annotations

import math
import re
from typing import Any, NoReturn

import httpx

from folio.contracts.providers import ProviderConfig, key_id
from folio_worker.llm.errors import SafetyKind
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
# Finish reasons that withhold the answer, as what each is (kind, whether rephrasing the
# instructions can help). SAFETY is the configurable filter; PROHIBITED_CONTENT, SPII and
# BLOCKLIST judge the text itself, which Folio never alters.
_BLOCKED_FINISH: dict[str, tuple[SafetyKind, bool]] = {
    "SAFETY": ("safety", True),
    "IMAGE_SAFETY": ("safety", True),
    "PROHIBITED_CONTENT": ("prohibited", False),
    "IMAGE_PROHIBITED_CONTENT": ("prohibited", False),
    "SPII": ("spii", False),
    "BLOCKLIST": ("blocklist", False),
}
# The model stopped for a reason it does not name (or a tool-call glitch we never asked
# for): another attempt usually succeeds.
_RETRY_FINISH = frozenset(
    {"OTHER", "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"}
)
# Thinking budgets per level for Gemini 2.5 (which take a budget, not a level).
_BUDGETS = {"minimal": 0, "low": 1024, "medium": 8192, "high": 24576}
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_VERSION = re.compile(r"gemini-(\d+)(?:\.\d+)?-")


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
    thinking = thinking_config(config)
    if thinking is not None:
        generation["thinkingConfig"] = thinking
    if generation:
        body["generationConfig"] = generation
    return body


def thinking_config(config: ProviderConfig) -> dict[str, Any] | None:
    """``thinkingLevel`` for Gemini 3.x (3, 3.1, …), ``thinkingBudget`` for 2.5.

    Translation gains little from long thinking, which costs latency and output tokens, so
    unless the job says otherwise: level ``low`` on 3.x, thinking off on 2.5 Flash and
    Flash-Lite, and 2.5 Pro's minimum budget (128; it cannot turn thinking off).
    """
    name = config.model.lower()
    version = _VERSION.search(name)
    major = int(version.group(1)) if version else None
    if major is None:  # an alias such as gemini-flash-latest: the model's own default
        level = config.thinking_level
        return {"thinkingLevel": level} if level else None
    if "gemini-2.5" in name:
        budget = config.thinking_budget
        pro = "pro" in name
        if budget is None and config.thinking_level is not None:
            budget = _BUDGETS[config.thinking_level]
        if budget is None:
            budget = 0
        if pro and 0 <= budget < 128:
            budget = 128
        return {"thinkingBudget": budget}
    if major >= 3:
        return {"thinkingLevel": config.thinking_level or "low"}
    return None


def thinking_allowance(config: ProviderConfig, output_tokens: int) -> int:
    """Thinking tokens to expect for an answer of ``output_tokens`` (for estimates): at
    most the 2.5 budget; on 3.x a share of the answer that grows with the level."""
    thinking = thinking_config(config)
    if thinking is None:
        return 0
    if "thinkingBudget" in thinking:
        budget = thinking["thinkingBudget"]
        return output_tokens if budget < 0 else min(budget, output_tokens)
    share = {"minimal": 0.1, "low": 0.25, "medium": 0.5, "high": 1.0}[thinking["thinkingLevel"]]
    return math.ceil(output_tokens * share)


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
            block = str(feedback["blockReason"])
            kind, rephrasable = _BLOCKED_FINISH.get(block, ("safety", True))
            raise AttemptFailed(
                "safety_prompt",
                f"the prompt was blocked ({block})",
                tokens=tokens,
                safety=kind,
                rephrasable=rephrasable,
            )
        return Answer(text="", finish="stop", tokens=tokens)
    candidate = candidates[0] if isinstance(candidates[0], dict) else {}
    text = _text(candidate)
    reason = str(candidate.get("finishReason") or "STOP")
    if reason in _BLOCKED_FINISH:
        # A partial answer cut by the filter is not a translation either.
        kind, rephrasable = _BLOCKED_FINISH[reason]
        raise AttemptFailed(
            "safety_candidate",
            f"the answer was blocked ({reason})",
            tokens=tokens,
            safety=kind,
            rephrasable=rephrasable,
        )
    if reason in ("RECITATION", "IMAGE_RECITATION"):
        raise AttemptFailed(
            "recitation",
            "the answer was stopped for reciting published text (RECITATION)",
            tokens=tokens,
            safety="recitation",
        )
    if reason == "LANGUAGE":
        raise AttemptFailed(
            "bad_request",
            "the model does not support the language of this text (LANGUAGE)",
            tokens=tokens,
        )
    if reason in _RETRY_FINISH:
        raise AttemptFailed("other", f"the model stopped early ({reason})", tokens=tokens)
    finish: Finish = "length" if reason == "MAX_TOKENS" else "stop"
    return Answer(text=text, finish=finish, tokens=tokens)


def fail(response: httpx.Response, body: Any, secrets: tuple[str, ...]) -> NoReturn:
    """Map a Google error answer (``{"error": {code, status, message, details}}``)."""
    status = response.status_code
    error = error_object(body)
    message = str(error.get("message") or "")
    details = error.get("details") if isinstance(error.get("details"), list) else []
    if status == 400 and _key_invalid(message, details):  # Google's answer to a wrong key
        raise AttemptFailed("auth", "the key is not valid (400 API_KEY_INVALID)")
    if status in (401, 403):
        raise AttemptFailed("auth", f"the key was refused ({status_detail(status)})")
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

    prompt = count("promptTokenCount")
    return Tokens(
        input=prompt,
        output=count("candidatesTokenCount"),
        thinking=count("thoughtsTokenCount"),
        cached=min(prompt, count("cachedContentTokenCount")),
    )


class GeminiProvider:
    label = "Gemini API"

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
