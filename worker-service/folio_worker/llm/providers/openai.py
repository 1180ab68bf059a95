"""OpenAI-compatible chat completions (OpenAI, OpenRouter, vLLM, llama.cpp, Ollama, the fake).

Structured output prefers ``json_schema`` (the server enforces the schema). Many compatible
servers reject it; the first such 400 switches that base URL to ``json_object`` with the
schema written into the prompt, and the switch is remembered for the life of the process
so later calls do not pay the failed request again.
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
    error_object,
    header_retry_after,
    json_body,
    redact,
    status_detail,
    status_outcome,
)
from folio_worker.llm.providers.schemas import openai_schema, schema_name
from folio_worker.llm.types import Finish, LLMRequest

DEFAULT_BASE_URL = "https://api.openai.com/v1"

# Base URLs whose server does not accept ``response_format: json_schema``.
_json_object_only: set[str] = set()

_FORMAT_HINTS = ("response_format", "json_schema", "unsupported")
_POLICY_CODES = ("content_policy_violation", "content_filter")


def uses_json_object(base_url: str) -> bool:
    """Whether structured calls to ``base_url`` go out as ``json_object`` (for tests/metrics)."""
    return base_url.rstrip("/") in _json_object_only


def json_only_instruction(schema: dict[str, Any]) -> str:
    """The prompt suffix that replaces ``json_schema`` on servers without it."""
    return (
        "\n\nAnswer with a single JSON document only (no prose, no code fences) that is "
        "valid for this JSON schema:\n<json_schema>\n"
        + json.dumps(schema, ensure_ascii=False)
        + "\n</json_schema>"
    )


class OpenAIProvider:
    label = "OpenAI-compatible API"
    refused_reason = "every API key was refused (403)"

    def __init__(self, config: ProviderConfig) -> None:
        self._config = config
        self._base = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._url = self._base + "/chat/completions"
        # OpenAI's own API wants the newer name (reasoning models reject max_tokens);
        # most compatible servers only know max_tokens.
        self._max_tokens_field = (
            "max_completion_tokens" if "api.openai.com" in self._base else "max_tokens"
        )

    def credentials(self) -> list[Credential]:
        return [Credential(key_id(k), k) for k in self._config.api_keys]

    async def build(self, request: LLMRequest, credential: Credential) -> httpx.Request:
        prompt = request.prompt
        body: dict[str, Any] = {"model": self._config.model}
        if request.schema is not None:
            schema, strict = openai_schema(request.schema)
            if self._base in _json_object_only:
                body["response_format"] = {"type": "json_object"}
                prompt += json_only_instruction(schema)
            else:
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": schema_name(request.schema),
                        "schema": schema,
                        "strict": strict,
                    },
                }
        messages = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": prompt})
        body["messages"] = messages
        if request.max_output_tokens is not None:
            body[self._max_tokens_field] = request.max_output_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        return httpx.Request(
            "POST",
            self._url,
            json=body,
            headers={"Authorization": f"Bearer {credential.secret}"},
        )

    def parse(self, request: LLMRequest, response: httpx.Response) -> Answer:
        body = json_body(response)
        error = error_object(body)
        if response.status_code >= 400 or (error and not _choices(body)):
            self._fail(response, error)
        choices = _choices(body)
        if not choices:
            raise AttemptFailed("5xx", "the server answered without choices")
        choice = choices[0] if isinstance(choices[0], dict) else {}
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        text = message.get("content") if isinstance(message.get("content"), str) else ""
        tokens = _tokens(body)
        reason = choice.get("finish_reason")
        if reason == "content_filter" or (not text and message.get("refusal")):
            # Also when part of the answer came through: a filtered answer is incomplete.
            raise AttemptFailed("safety_candidate", "the answer was filtered", tokens=tokens)
        finish: Finish = "length" if reason == "length" else "stop"
        return Answer(text=text, finish=finish, tokens=tokens)

    def _fail(self, response: httpx.Response, error: dict[str, Any]) -> NoReturn:
        status = response.status_code
        if status < 400:  # an error object in a 200 (OpenRouter does this)
            code = error.get("code")
            status = code if isinstance(code, int) and code >= 400 else 502
        code = str(error.get("code") or "").lower()
        message = str(error.get("message") or "")
        if status in (401, 403):
            raise AttemptFailed("auth", f"the key was refused ({status})")
        retryable = status_outcome(status)
        if retryable is not None:
            raise AttemptFailed(
                retryable,
                status_detail(status),
                retry_after_s=header_retry_after(response.headers),
            )
        lowered = f"{code} {error.get('type') or ''} {message}".lower()
        if code in _POLICY_CODES or "content policy" in lowered or "content_policy" in lowered:
            raise AttemptFailed("safety_prompt", "the prompt was refused by the content policy")
        if (
            status == 400
            and _sent_json_schema(response.request)
            and any(hint in lowered for hint in _FORMAT_HINTS)
        ):
            _json_object_only.add(self._base)
            raise AttemptFailed(
                "bad_request",
                "the server does not support json_schema; switching to json_object",
                recoverable=True,
            )
        detail = redact(message, self._config.api_keys) or "no details"
        raise AttemptFailed("bad_request", f"the request was rejected ({status}): {detail}")


def _sent_json_schema(request: httpx.Request) -> bool:
    try:
        sent = json.loads(request.content)
    except ValueError:
        return False
    response_format = sent.get("response_format") if isinstance(sent, dict) else None
    return isinstance(response_format, dict) and response_format.get("type") == "json_schema"


def _choices(body: Any) -> list[Any]:
    if isinstance(body, dict) and isinstance(body.get("choices"), list):
        return body["choices"]
    return []


def _tokens(body: Any) -> Tokens:
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return Tokens()
    details = usage.get("completion_tokens_details")
    thinking = details.get("reasoning_tokens") if isinstance(details, dict) else 0
    return Tokens(
        input=_int(usage.get("prompt_tokens")),
        output=_int(usage.get("completion_tokens")),
        thinking=_int(thinking),
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
