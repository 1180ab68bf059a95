"""OpenAI-compatible chat completions: OpenAI, Azure OpenAI, OpenRouter, vLLM, llama.cpp's
``llama-server``, llama-cpp-python, Ollama, and the fake.

The servers share the wire format and differ where it matters: authentication (Azure's
``api-key`` header and ``api-version``), structured output (see :mod:`.formats`), routing
(OpenRouter may send a request to a provider that ignores ``response_format`` unless
``provider.require_parameters`` is set), what a status means (OpenRouter's 403 is its
moderation, not a bad key; OpenAI's 429 ``insufficient_quota`` is billing, not a rate
limit), where reasoning goes (``reasoning_content``/``reasoning`` fields, or ``<think>``
in the content, stripped by the client) and context windows (Ollama truncates silently).
"""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from folio.contracts.providers import AZURE_DEFAULT_API_VERSION, ProviderConfig, key_id
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
from folio_worker.llm.providers.formats import (
    FORMATS,
    FormatMemory,
    json_only_instruction,
    rejects_json_schema,
)
from folio_worker.llm.providers.schemas import openai_schema, schema_name
from folio_worker.llm.types import Finish, LLMRequest

DEFAULT_BASE_URL = "https://api.openai.com/v1"
OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"

_POLICY_CODES = ("content_policy_violation", "content_filter")
_CONTEXT_HINTS = (
    "context_length_exceeded",
    "exceed_context_size_error",
    "maximum context length",
    "exceeds the available context size",
    "context window",
)
# Ollama reports how many prompt tokens it read; far fewer than were sent means it cut the
# prompt to its context window (its OpenAI endpoint does so silently).
_TRUNCATION_FACTOR = 1.5


def server_of(config: ProviderConfig) -> str:
    """``openai`` (api.openai.com), ``openrouter``, ``azure`` or ``compatible``."""
    base = (config.base_url or "").lower()
    if config.provider == "azure":
        return "azure"
    if config.provider == "openrouter" or "openrouter.ai" in base:
        return "openrouter"
    if not base or "api.openai.com" in base:
        return "openai"
    return "compatible"


def _azure_url(config: ProviderConfig) -> tuple[str, str]:
    """The chat-completions URL and the endpoint identity of an Azure deployment.

    ``https://<resource>.openai.azure.com`` (optionally with ``?api-version=``) addresses
    the deployment named by the model; a base URL ending in ``/openai/v1`` is Azure's
    version-less v1 API, where the model goes in the body as on OpenAI.
    """
    parts = urlsplit(config.base_url or "")
    query = dict(parse_qsl(parts.query))
    version = config.api_version or query.get("api-version") or AZURE_DEFAULT_API_VERSION
    root = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    if root.endswith("/openai/v1"):
        return root + "/chat/completions", root
    root = root.removesuffix("/openai")
    if "/openai/deployments/" not in root:
        root = f"{root}/openai/deployments/{config.model}"
    return f"{root}/chat/completions?api-version={version}", root


class OpenAIProvider:
    label = "OpenAI-compatible API"

    def __init__(self, config: ProviderConfig, *, formats: FormatMemory = FORMATS) -> None:
        self._config = config
        self._formats = formats
        self.server = server_of(config)
        if self.server == "azure":
            self._url, self._base = _azure_url(config)
            self.label = "Azure OpenAI"
        else:
            default = OPENROUTER_BASE_URL if self.server == "openrouter" else DEFAULT_BASE_URL
            self._base = (config.base_url or default).rstrip("/")
            self._url = self._base + "/chat/completions"
            if self.server == "openrouter":
                self.label = "OpenRouter"
        # OpenAI's own API (and Azure's) want the newer name, which reasoning models
        # require; most compatible servers only know max_tokens.
        self._max_tokens_field = (
            "max_completion_tokens" if self.server in ("openai", "azure") else "max_tokens"
        )

    def credentials(self) -> list[Credential]:
        return [Credential(key_id(k), k) for k in self._config.api_keys]

    def json_object_only(self) -> bool:
        return self._formats.json_object_only(self._base, self._config.model)

    async def build(self, request: LLMRequest, credential: Credential) -> httpx.Request:
        prompt = request.prompt
        body: dict[str, Any] = {"model": self._config.model}
        if request.schema is not None:
            schema, strict = openai_schema(request.schema)
            if self.json_object_only():
                body["response_format"] = {"type": "json_object", "schema": schema}
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
            if self.server == "openrouter":
                # Route only to providers that honour response_format.
                body["provider"] = {"require_parameters": True}
        messages = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": prompt})
        body["messages"] = messages
        if request.max_output_tokens is not None:
            body[self._max_tokens_field] = request.max_output_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if self.server == "azure":
            headers = {"api-key": credential.secret}
        else:
            headers = {"Authorization": f"Bearer {credential.secret}"}
        return httpx.Request("POST", self._url, json=body, headers=headers)

    def parse(self, request: LLMRequest, response: httpx.Response) -> Answer:
        body = json_body(response)
        error = error_object(body)
        failed = response.status_code >= 400 or (
            (error or (isinstance(body, dict) and body.get("object") == "error"))
            and not _choices(body)
        )
        if failed:
            self._fail(response, body)
        choices = _choices(body)
        if not choices:
            raise AttemptFailed("5xx", "the server answered without choices")
        choice = choices[0] if isinstance(choices[0], dict) else {}
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        text = message_text(message.get("content"))
        tokens = _tokens(body, _reasoning_text(message))
        self._check_truncated_prompt(request, body, tokens)
        reason = choice.get("finish_reason")
        if reason == "content_filter":
            # Also when part of the answer came through: a filtered answer is incomplete.
            raise AttemptFailed(
                "safety_candidate", "the answer was filtered", tokens=tokens, safety="safety"
            )
        if not text and message.get("refusal"):
            raise AttemptFailed(
                "safety_candidate", "the model refused to answer", tokens=tokens, safety="refusal"
            )
        finish: Finish = "length" if reason in ("length", "max_tokens") else "stop"
        return Answer(text=text, finish=finish, tokens=tokens)

    def _check_truncated_prompt(self, request: LLMRequest, body: Any, tokens: Tokens) -> None:
        if not isinstance(body, dict) or body.get("system_fingerprint") != "fp_ollama":
            return
        sent = math.ceil(len(((request.system or "") + request.prompt).encode()) / 4)
        if tokens.input and sent >= 512 and sent > tokens.input * _TRUNCATION_FACTOR:
            raise AttemptFailed(
                "bad_request",
                f"Ollama cut the prompt to its context window: it read {tokens.input} tokens "
                f"of about {sent}. Give the model a larger context (OLLAMA_CONTEXT_LENGTH, "
                "or num_ctx in its Modelfile) or use smaller segments.",
                tokens=tokens,
            )

    def _fail(self, response: httpx.Response, body: Any) -> NoReturn:
        error = error_object(body) or (body if isinstance(body, dict) else {})
        status = response.status_code
        if status < 400:  # an error object in a 200 (OpenRouter does this mid-generation)
            code = error.get("code")
            status = code if isinstance(code, int) and code >= 400 else 502
        code = str(error.get("code") or "").lower()
        kind = str(error.get("type") or "").lower()
        message = error_message(body)
        lowered = f"{code} {kind} {message}".lower()
        secrets = self._config.api_keys
        if (
            self.server == "openrouter" and status == 403
        ) or "responsibleaipolicyviolation" in json.dumps(error).lower():
            raise AttemptFailed(
                "safety_prompt",
                "the prompt was flagged by the provider's moderation",
                safety="moderation",
            )
        if code in _POLICY_CODES or "content policy" in lowered or "content_policy" in lowered:
            raise AttemptFailed(
                "safety_prompt", "the prompt was refused by the content policy", safety="safety"
            )
        if status in (401, 402, 403):
            what = "is out of credits" if status == 402 else "was refused"
            raise AttemptFailed("auth", f"the key {what} ({status_detail(status)})")
        if status == 429 and "insufficient_quota" in lowered:
            # Billing, not throttling: retrying cannot help until the account is topped up.
            raise AttemptFailed("auth", "the key's quota is used up (429 insufficient_quota)")
        if _sent_json_schema(response.request) and rejects_json_schema(
            status, message, error.get("param")
        ):
            self._formats.remember_json_object(self._base, self._config.model)
            raise AttemptFailed(
                "bad_request",
                f"the server does not support json_schema ({status}); switching to json_object",
                recoverable=True,
            )
        retryable = status_outcome(status)
        if retryable is not None:
            raise AttemptFailed(
                retryable,
                status_detail(status),
                retry_after_s=header_retry_after(response.headers),
            )
        detail = redact(message, secrets) or "no details"
        if any(hint in lowered for hint in _CONTEXT_HINTS):
            raise AttemptFailed(
                "bad_request", f"the prompt does not fit the model's context window: {detail}"
            )
        raise AttemptFailed("bad_request", f"the request was rejected ({status}): {detail}")


def message_text(content: Any) -> str:
    """The answer text of a message: a string, or a list of parts whose ``text`` parts
    count (``thinking``/``reasoning`` parts, as Mistral's reasoning models send, do not)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif (
            isinstance(part, dict)
            and part.get("type", "text") in ("text", "output_text")
            and isinstance(part.get("text"), str)
        ):
            texts.append(part["text"])
    return "".join(texts)


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


def _reasoning_text(message: dict[str, Any]) -> str:
    """Reasoning the server put beside the answer (llama-server's ``reasoning_content``,
    vLLM's and OpenRouter's ``reasoning``, Mistral's ``thinking`` parts)."""
    for field in ("reasoning_content", "reasoning"):
        if isinstance(message.get(field), str):
            return message[field]
    content = message.get("content")
    if not isinstance(content, list):
        return ""
    texts: list[str] = []
    for part in content:
        if isinstance(part, dict) and part.get("type") == "thinking":
            inner = part.get("thinking")
            texts.append(inner if isinstance(inner, str) else message_text(inner))
    return "".join(texts)


def _tokens(body: Any, reasoning_text: str = "") -> Tokens:
    """Usage, each token once: OpenAI's ``completion_tokens`` already include
    ``completion_tokens_details.reasoning_tokens``, so output is the difference. A server
    that returns its reasoning without counting it apart still billed it as completion
    tokens: its share is estimated from the reasoning text."""
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return Tokens()
    completion = _int(usage.get("completion_tokens"))
    details = usage.get("completion_tokens_details")
    reasoning = _int(details.get("reasoning_tokens")) if isinstance(details, dict) else 0
    if not reasoning and reasoning_text:
        reasoning = math.ceil(len(reasoning_text.encode()) / 4)
    reasoning = min(reasoning, completion)
    prompt_details = usage.get("prompt_tokens_details")
    cached = _int(prompt_details.get("cached_tokens")) if isinstance(prompt_details, dict) else 0
    prompt = _int(usage.get("prompt_tokens"))
    return Tokens(
        input=prompt,
        output=completion - reasoning,
        thinking=reasoning,
        cached=min(cached, prompt),
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
