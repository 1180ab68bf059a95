"""OpenAI-compatible chat completions (also under ``/api/v1`` as OpenRouter serves it).

Covers what Folio's OpenAI-style client uses: text and ``json_schema``/``json_object``
response formats, bearer auth, usage accounting and OpenAI-shaped errors. Servers without
``json_schema`` support (older llama.cpp/vLLM) are simulated by ``FAKE_LLM_OPENAI_JSON_SCHEMA``.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from folio_fakellm._http import read_json
from folio_fakellm.core import (
    CallError,
    CallResult,
    Engine,
    ErrorKind,
    LLMCall,
    format_seconds,
    http_status,
)

router = APIRouter()

ENDPOINT = "openai.chat"

_ERROR_TYPES: dict[ErrorKind, tuple[str, str | None]] = {
    ErrorKind.MISSING_KEY: ("invalid_request_error", "invalid_api_key"),
    ErrorKind.INVALID_KEY: ("permission_error", "invalid_api_key"),
    ErrorKind.UNKNOWN_TOKEN: ("invalid_request_error", "invalid_api_key"),
    ErrorKind.RATE_LIMITED: ("rate_limit_error", "rate_limit_exceeded"),
    ErrorKind.SERVER_ERROR: ("server_error", "internal_error"),
    ErrorKind.UNAVAILABLE: ("server_error", "service_unavailable"),
    ErrorKind.BAD_REQUEST: ("invalid_request_error", "invalid_request"),
    ErrorKind.UNSUPPORTED_FORMAT: ("invalid_request_error", "unsupported_response_format"),
}

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


def _parse(body: Any, json_schema_enabled: bool) -> tuple[dict[str, Any], CallError | None]:
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
        if kind == "json_schema":
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
        elif kind not in (None, "text"):
            return fields, CallError(ErrorKind.BAD_REQUEST, f"unknown response_format {kind!r}")
    return fields, None


def render(call: LLMCall, result: CallResult) -> JSONResponse:
    """Render a ``CallResult`` as an OpenAI response."""
    if result.error is not None:
        type_, code = _ERROR_TYPES[result.error.kind]
        return error_response(
            result.status, result.error.message, type_, code, result.error.retry_after
        )
    if result.prompt_blocked:
        return error_response(
            400,
            "The prompt was flagged by the content policy",
            "invalid_request_error",
            "content_policy_violation",
        )
    body = {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": call.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.text, "refusal": None},
                "logprobs": None,
                "finish_reason": _FINISH[result.finish],
            }
        ],
        "usage": {
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
            "total_tokens": result.prompt_tokens + result.completion_tokens,
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }
    return JSONResponse(body)


@router.post("/v1/chat/completions")
@router.post("/api/v1/chat/completions")
async def chat_completions(request: Request) -> JSONResponse:
    engine = _engine(request)
    key = _bearer(request)
    body = await read_json(request)
    fields, invalid = _parse(body, engine.settings.openai_json_schema)
    call = LLMCall(protocol="openai", endpoint=ENDPOINT, key=key, **fields)
    result = await engine.run(call, pre_error=engine.check_key(key) or invalid)
    return render(call, result)


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
    return error_response(status, error.message, type_, code, error.retry_after)


def _model_entry(model: str) -> dict[str, Any]:
    return {"id": model, "object": "model", "created": 0, "owned_by": "folio-fake-llm"}


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
