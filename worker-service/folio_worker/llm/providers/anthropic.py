"""Anthropic's Messages API (Claude).

Structured output goes through tool use: one tool whose ``input_schema`` is the requested
model and ``tool_choice`` forcing it, so the answer is the tool call's ``input`` object.
``max_tokens`` is required by the API; without a request limit the model's usual output
ceiling is sent. Usage: ``input_tokens`` counts only what was neither written to nor read
from the prompt cache, so the input is the sum of the three, and the cache reads are the
cached part.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

import httpx

from folio.contracts.providers import ProviderConfig, key_id
from folio_worker.llm.keys import Credential
from folio_worker.llm.providers.base import (
    Answer,
    AttemptFailed,
    Tokens,
    error_message,
    error_object,
    header_retry_after,
    json_body,
    redact,
    status_detail,
    status_outcome,
)
from folio_worker.llm.providers.schemas import inline_refs, schema_name
from folio_worker.llm.types import Finish, LLMRequest

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
# Output ceilings of the model families (claude-3 Haiku/Opus 4096, claude-3.5 8192; later
# models allow far more, but a translation unit never needs it).
_SMALL_OUTPUT = ("claude-3-haiku", "claude-3-opus", "claude-3-sonnet")
DEFAULT_MAX_TOKENS = 8192


def default_max_tokens(model: str) -> int:
    name = model.lower()
    return 4096 if any(name.startswith(prefix) for prefix in _SMALL_OUTPUT) else DEFAULT_MAX_TOKENS


class AnthropicProvider:
    label = "Anthropic API"

    def __init__(self, config: ProviderConfig) -> None:
        self._config = config
        base = (config.base_url or DEFAULT_BASE_URL).rstrip("/").removesuffix("/v1")
        self._url = base + "/v1/messages"

    def credentials(self) -> list[Credential]:
        return [Credential(key_id(k), k) for k in self._config.api_keys]

    async def build(self, request: LLMRequest, credential: Credential) -> httpx.Request:
        body: dict[str, Any] = {
            "model": self._config.model,
            "max_tokens": request.max_output_tokens or default_max_tokens(self._config.model),
            "messages": [{"role": "user", "content": request.prompt}],
        }
        if request.system:
            body["system"] = request.system
        if request.temperature is not None:
            body["temperature"] = min(1.0, request.temperature)  # Anthropic's range is 0..1
        if request.schema is not None:
            name = schema_name(request.schema)
            body["tools"] = [
                {
                    "name": name,
                    "description": "Record the answer in exactly this structure.",
                    "input_schema": inline_refs(request.schema.model_json_schema()),
                }
            ]
            body["tool_choice"] = {"type": "tool", "name": name}
        return httpx.Request(
            "POST",
            self._url,
            json=body,
            headers={"x-api-key": credential.secret, "anthropic-version": API_VERSION},
        )

    def parse(self, request: LLMRequest, response: httpx.Response) -> Answer:
        body = json_body(response)
        if response.status_code >= 400 or (isinstance(body, dict) and body.get("type") == "error"):
            self._fail(response, body)
        if not isinstance(body, dict) or not isinstance(body.get("content"), list):
            raise AttemptFailed("5xx", "the server answered without content")
        tokens = _tokens(body)
        stop = body.get("stop_reason")
        if stop == "refusal":
            raise AttemptFailed(
                "safety_candidate", "the model refused to answer", tokens=tokens, safety="refusal"
            )
        if stop == "model_context_window_exceeded":
            raise AttemptFailed(
                "bad_request", "the prompt does not fit the model's context window", tokens=tokens
            )
        blocks = [b for b in body["content"] if isinstance(b, dict)]
        if request.schema is not None:
            calls = [b for b in blocks if b.get("type") == "tool_use"]
            text = json.dumps(calls[0].get("input"), ensure_ascii=False) if calls else ""
        else:
            # Thinking blocks are not part of the answer.
            text = "".join(
                b["text"]
                for b in blocks
                if b.get("type") == "text" and isinstance(b.get("text"), str)
            )
        finish: Finish = "length" if stop == "max_tokens" else "stop"
        return Answer(text=text, finish=finish, tokens=tokens)

    def _fail(self, response: httpx.Response, body: Any) -> NoReturn:
        status = response.status_code
        error = error_object(body)
        kind = str(error.get("type") or "")
        if status < 400:
            status = 529 if kind == "overloaded_error" else 500
        message = error_message(body)
        if status in (401, 402, 403) or kind in ("authentication_error", "permission_error"):
            what = "is out of credits" if status == 402 else "was refused"
            raise AttemptFailed("auth", f"the key {what} ({status_detail(status)})")
        if status == 429 and "spend_limit" in json.dumps(error):
            raise AttemptFailed("auth", "the organisation's spend limit is reached (429)")
        retryable = status_outcome(status)
        if retryable is not None:
            raise AttemptFailed(
                retryable, status_detail(status), retry_after_s=header_retry_after(response.headers)
            )
        detail = redact(message, self._config.api_keys) or "no details"
        if "prompt is too long" in message.lower():
            raise AttemptFailed(
                "bad_request", f"the prompt does not fit the model's context window: {detail}"
            )
        raise AttemptFailed("bad_request", f"the request was rejected ({status}): {detail}")


def _tokens(body: dict[str, Any]) -> Tokens:
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return Tokens()

    def count(name: str) -> int:
        value = usage.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    read = count("cache_read_input_tokens")
    written = count("cache_creation_input_tokens")
    return Tokens(
        input=count("input_tokens") + read + written,
        output=count("output_tokens"),
        cached=read,
    )
