"""OpenAI-compatible chat completions (also under ``/api/v1`` as OpenRouter serves it, and
under Azure OpenAI's deployment paths).

Covers what Folio's OpenAI-style client uses: text and ``json_schema``/``json_object``
response formats, bearer (or Azure ``api-key``) auth, usage accounting and errors, each as
the server chosen by the request's flavour answers them (see :mod:`.flavours`). Servers
without ``json_schema`` that answer 400 are simulated by ``FAKE_LLM_OPENAI_JSON_SCHEMA``.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from folio_fakellm._http import client_request_id, read_json
from folio_fakellm.core import (
    CallError,
    CallResult,
    Engine,
    ErrorKind,
    LLMCall,
    format_seconds,
    http_status,
)
from folio_fakellm.flavours import (
    FLAVOURS,
    Flavour,
    flavour_of,
    llama_cpp_python_validation_message,
)
from folio_fakellm.tokens import estimate_tokens

router = APIRouter()

ENDPOINT = "openai.chat"

_ERROR_TYPES: dict[ErrorKind, tuple[str, str | None]] = {
    ErrorKind.MISSING_KEY: ("invalid_request_error", "invalid_api_key"),
    ErrorKind.INVALID_KEY: ("invalid_request_error", "invalid_api_key"),
    ErrorKind.DENIED_KEY: ("request_forbidden", "unsupported_country_region_territory"),
    ErrorKind.UNKNOWN_TOKEN: ("invalid_request_error", "invalid_api_key"),
    ErrorKind.RATE_LIMITED: ("rate_limit_error", "rate_limit_exceeded"),
    ErrorKind.SERVER_ERROR: ("server_error", "internal_error"),
    ErrorKind.UNAVAILABLE: ("server_error", "service_unavailable"),
    ErrorKind.BAD_REQUEST: ("invalid_request_error", "invalid_request"),
    ErrorKind.UNSUPPORTED_FORMAT: ("invalid_request_error", "unsupported_response_format"),
}

_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API "
    "key from https://platform.openai.com/account/api-keys."
)


def openai_key_message(error: CallError, key: str | None) -> str:
    """OpenAI's own words for a missing or wrong key (the wrong one shown masked, its
    first three and last four characters kept, as OpenAI does)."""
    if error.kind is ErrorKind.MISSING_KEY:
        return _NO_KEY
    if error.kind is ErrorKind.DENIED_KEY:
        return "Country, region, or territory not supported"
    if error.kind is not ErrorKind.INVALID_KEY:
        return error.message
    shown = key or ""
    if len(shown) > 12:
        shown = shown[:3] + "*" * (len(shown) - 7) + shown[-4:]
    return (
        f"Incorrect API key provided: {shown}. You can find your API key at "
        "https://platform.openai.com/account/api-keys."
    )


_FINISH = {"stop": "stop", "length": "length", "safety": "content_filter"}


def error_response(
    status: int, message: str, type_: str, code: str | None, retry_after: float | None = None
) -> JSONResponse:
    headers = {"Retry-After": format_seconds(retry_after)} if retry_after is not None else None
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def message_text(content: Any) -> str:
    """Text of a message ``content`` (a string or a list of ``{type:"text", text}`` parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        ]
        return "\n".join(texts)
    return ""


def _parse(
    body: Any, json_schema_enabled: bool, flavour: Flavour = FLAVOURS["openai"]
) -> tuple[dict[str, Any], CallError | None]:
    """Extract call fields from the request body and a validation error, if any."""
    fields: dict[str, Any] = {"model": "", "prompt": "", "user_texts": []}
    if not isinstance(body, dict):
        return fields, CallError(ErrorKind.BAD_REQUEST, "Request body must be a JSON object")
    fields["model"] = str(body.get("model") or "")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return fields, CallError(ErrorKind.BAD_REQUEST, "'messages' must be a non-empty array")
    texts: list[str] = []
    for m in messages:
        if not isinstance(m, dict):
            return fields, CallError(ErrorKind.BAD_REQUEST, "each message must be an object")
        text = message_text(m.get("content"))
        texts.append(text)
        if m.get("role") == "user":
            fields["user_texts"].append(text)
    fields["prompt"] = "\n\n".join(texts)
    if not fields["model"]:
        return fields, CallError(ErrorKind.BAD_REQUEST, "'model' is required")
    if body.get("stream"):
        return fields, CallError(
            ErrorKind.BAD_REQUEST, "stream=true is not supported by this server"
        )
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
        fields["max_output_tokens"] = max_tokens
    fmt = body.get("response_format")
    if isinstance(fmt, dict):
        kind = fmt.get("type")
        if kind == "json_schema" and flavour.json_schema == "500":
            return fields, CallError(
                ErrorKind.SERVER_ERROR, llama_cpp_python_validation_message(kind)
            )
        ignored = flavour.routes_without_require_parameters and not _requires_parameters(body)
        if ignored:
            # routed to a provider that drops response_format: the schema is not followed
            fields.update(structured=True, ignore_prompt_schema=True)
        elif kind == "json_schema":
            if not json_schema_enabled:
                return fields, CallError(
                    ErrorKind.UNSUPPORTED_FORMAT,
                    "response_format json_schema is not supported by this server",
                )
            spec = fmt.get("json_schema")
            schema = spec.get("schema") if isinstance(spec, dict) else None
            if not isinstance(spec, dict) or not isinstance(schema, dict):
                return fields, CallError(
                    ErrorKind.BAD_REQUEST, "response_format.json_schema.schema is required"
                )
            fields.update(structured=True, schema=schema, schema_name=spec.get("name"))
        elif kind == "json_object":
            fields["structured"] = True
            if isinstance(fmt.get("schema"), dict):  # llama.cpp and llama-cpp-python enforce it
                fields["schema"] = fmt["schema"]
            elif flavour.json_schema == "500":
                fields["ignore_prompt_schema"] = True
        elif kind not in (None, "text"):
            return fields, CallError(ErrorKind.BAD_REQUEST, f"unknown response_format {kind!r}")
    return fields, None


def _requires_parameters(body: dict[str, Any]) -> bool:
    provider = body.get("provider")
    return isinstance(provider, dict) and provider.get("require_parameters") is True


def flavoured_error(
    flavour: Flavour,
    status: int,
    message: str,
    type_: str,
    code: str | None,
    retry_after: float | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """An error in the shape the flavour's server uses."""
    headers = {"Retry-After": format_seconds(retry_after)} if retry_after is not None else None
    error: dict[str, Any]
    if flavour.errors == "vllm":
        body: dict[str, Any] = {
            "object": "error",
            "message": message,
            "type": "BadRequestError" if status == 400 else type_,
            "param": None,
            "code": status,
        }
        return JSONResponse(body, status_code=status, headers=headers)
    if flavour.errors == "llama-server":
        error = {"code": status, "message": message, "type": type_}
    elif flavour.errors == "openrouter":
        error = {"code": status, "message": message}
    elif flavour.errors == "azure":
        error = {"code": code or str(status), "message": message, "param": None, "type": None}
    elif flavour.json_schema == "500" and status >= 500:  # llama-cpp-python's handler
        error = {"message": message, "type": "internal_server_error", "param": None, "code": None}
    else:
        error = {"message": message, "type": type_, "param": None, "code": code}
    error.update(extra or {})
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def _usage(flavour: Flavour, result: CallResult) -> dict[str, Any]:
    completion = result.completion_tokens + result.thought_tokens
    usage: dict[str, Any] = {
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": result.prompt_tokens + completion,
    }
    if flavour.reasoning_tokens_reported:
        usage["completion_tokens_details"] = {"reasoning_tokens": result.thought_tokens}
    if flavour.cached_tokens_reported:
        usage["prompt_tokens_details"] = {"cached_tokens": result.cached_tokens}
    return usage


def _message(flavour: Flavour, result: CallResult) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": result.text, "refusal": None}
    if not result.reasoning or flavour.reasoning == "hidden":
        if flavour.reasoning == "parts":
            message["content"] = [{"type": "text", "text": result.text}]
        return message
    if flavour.reasoning == "inline":
        message["content"] = f"<think>\n{result.reasoning}\n</think>\n\n{result.text}"
    elif flavour.reasoning == "parts":
        message["content"] = [
            {"type": "thinking", "thinking": [{"type": "text", "text": result.reasoning}]},
            {"type": "text", "text": result.text},
        ]
    else:
        message[flavour.reasoning] = result.reasoning
    return message


def render(
    call: LLMCall, result: CallResult, flavour: Flavour = FLAVOURS["openai"]
) -> JSONResponse:
    """Render a ``CallResult`` as the flavour's server answers."""
    if result.error is not None:
        type_, code = _ERROR_TYPES[result.error.kind]
        status, message = result.status, result.error.message
        if flavour.name == "openai":
            message = openai_key_message(result.error, call.key)
        if flavour.errors == "openrouter" and status in (401, 403):
            status = 401  # OpenRouter: a bad key is a 401 ("User not found."); 403 is moderation
            message = "User not found." if result.error.kind is ErrorKind.INVALID_KEY else message
        if flavour.errors == "azure" and status in (401, 403):
            status, code = 401, "401"
            message = (
                "Access denied due to invalid subscription key or wrong API endpoint. Make "
                "sure to provide a valid key for an active subscription and use a correct "
                "regional API endpoint for your resource."
            )
        return flavoured_error(flavour, status, message, type_, code, result.error.retry_after)
    if result.prompt_blocked:
        if flavour.errors == "openrouter":
            return flavoured_error(
                flavour,
                403,
                f"{call.model} requires moderation on OpenRouter. Your input was flagged.",
                "moderation",
                None,
                extra={"metadata": {"reasons": ["violence"], "provider_name": "fake"}},
            )
        if flavour.errors == "azure":
            return flavoured_error(
                flavour,
                400,
                "The response was filtered due to the prompt triggering Azure OpenAI's "
                "content management policy.",
                "invalid_request_error",
                "content_filter",
                extra={
                    "status": 400,
                    "innererror": {
                        "code": "ResponsibleAIPolicyViolation",
                        "content_filter_result": {"violence": {"filtered": True}},
                    },
                },
            )
        return flavoured_error(
            flavour,
            400,
            "The prompt was flagged by the content policy",
            "invalid_request_error",
            "content_policy_violation",
        )
    body: dict[str, Any] = {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": call.model,
        "choices": [
            {
                "index": 0,
                "message": _message(flavour, result),
                "logprobs": None,
                "finish_reason": _FINISH[result.finish],
            }
        ],
        "usage": _usage(flavour, result),
    }
    if flavour.fingerprint:
        body["system_fingerprint"] = flavour.fingerprint
    return JSONResponse(body)


def _fit_context(
    flavour: Flavour, engine: Engine, fields: dict[str, Any]
) -> CallError | JSONResponse | None:
    """Ollama silently keeps the end of a long prompt; vLLM and llama-server refuse it."""
    prompt = fields.get("prompt") or ""
    tokens = estimate_tokens(prompt)
    if flavour.truncates_prompt and tokens > engine.settings.ollama_num_ctx:
        keep = engine.settings.ollama_num_ctx * 4
        fields["prompt"] = prompt.encode()[-keep:].decode("utf-8", "ignore")
        fields["user_texts"] = [fields["prompt"]]
        return None
    window = engine.settings.context_window
    if flavour.rejects_long_prompt and tokens > window:
        if flavour.errors == "llama-server":
            return flavoured_error(
                flavour,
                400,
                f"request ({tokens} tokens) exceeds the available context size "
                f"({window} tokens), try increasing it",
                "exceed_context_size_error",
                None,
                extra={"n_prompt_tokens": tokens, "n_ctx": window},
            )
        return flavoured_error(
            flavour,
            400,
            f"This model's maximum context length is {window} tokens. However, you requested "
            f"{tokens} tokens in the messages, Please reduce the length of the messages.",
            "BadRequestError",
            None,
        )
    return None


async def _complete(request: Request, flavour: Flavour, key: str | None) -> JSONResponse:
    engine = _engine(request)
    body = await read_json(request)
    fields, invalid = _parse(body, engine.settings.openai_json_schema, flavour)
    if invalid is None:
        refused = _fit_context(flavour, engine, fields)
        if isinstance(refused, JSONResponse):
            engine.stats.count(ENDPOINT, str(refused.status_code))
            return refused
    verdict = engine.check_key(key) if flavour.checks_keys else None
    call = LLMCall(
        protocol="openai",
        endpoint=ENDPOINT,
        key=key,
        **fields,
        client_request_id=client_request_id(request),
    )
    result = await engine.run(call, pre_error=verdict or invalid)
    return render(call, result, flavour)


@router.post("/v1/chat/completions")
@router.post("/api/v1/chat/completions")
async def chat_completions(request: Request) -> JSONResponse:
    return await _complete(request, flavour_of(request.scope), _bearer(request))


@router.post("/openai/deployments/{deployment}/chat/completions")
async def azure_deployment_completions(deployment: str, request: Request) -> JSONResponse:
    """Azure OpenAI: the deployment names the model; ``api-version`` is required."""
    flavour = FLAVOURS["azure"]
    if not request.query_params.get("api-version"):
        _engine(request).stats.count(ENDPOINT, "404")
        return flavoured_error(flavour, 404, "Resource not found", "invalid_request_error", "404")
    return await _complete(request, flavour, request.headers.get("api-key") or None)


@router.post("/openai/v1/chat/completions")
async def azure_v1_completions(request: Request) -> JSONResponse:
    """Azure OpenAI's version-less v1 API: the model in the body, the key in ``api-key``."""
    return await _complete(request, FLAVOURS["azure"], request.headers.get("api-key") or None)


def _model_entry(model: str) -> dict[str, Any]:
    return {"id": model, "object": "model", "created": 0, "owned_by": "folio-fake-llm"}


def _refused_key(engine: Engine, request: Request, endpoint: str) -> JSONResponse | None:
    """Like the real API, a key that is sent and not valid is refused (401/403/429), also
    on the cheap model endpoints clients probe keys with."""
    key = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    error = engine.check_key(key) if key else None
    if error is None:
        return None
    status = http_status("openai", error.kind)
    engine.stats.count(endpoint, str(status))
    type_, code = _ERROR_TYPES[error.kind]
    message = openai_key_message(error, key)
    return error_response(status, message, type_, code, error.retry_after)


@router.get("/v1/models")
@router.get("/api/v1/models")
async def list_models(request: Request) -> JSONResponse:
    engine = _engine(request)
    refused = _refused_key(engine, request, "openai.models")
    if refused is not None:
        return refused
    engine.stats.count("openai.models", "ok")
    data = [_model_entry(m) for m in engine.settings.model_list]
    return JSONResponse({"object": "list", "data": data})


@router.get("/v1/models/{model}")
@router.get("/api/v1/models/{model}")
async def get_model(model: str, request: Request) -> JSONResponse:
    engine = _engine(request)
    refused = _refused_key(engine, request, "openai.models")
    if refused is not None:
        return refused
    if model not in engine.settings.model_list:
        engine.stats.count("openai.models", "404")
        return error_response(
            404, f"The model '{model}' does not exist", "invalid_request_error", "model_not_found"
        )
    engine.stats.count("openai.models", "ok")
    return JSONResponse(_model_entry(model))
