"""Anthropic's Messages API (``POST /v1/messages``), as the ``anthropic`` SDK calls it.

``x-api-key`` (or, as the SDK's 2.x releases send it, ``Authorization: Bearer``) and
``anthropic-version`` headers, both required as by the real API;
``system`` as a string or text blocks; ``max_tokens`` required; a forced tool
(``tool_choice: {"type": "tool", "name": …}``) is answered with a ``tool_use`` block whose
``input`` fills the tool's ``input_schema`` (structured output through tool use).
Errors are ``{"type": "error", "error": {"type", "message"}, "request_id"}``; overload is
529 ``overloaded_error``. Usage follows the prompt cache: with ``cache_control`` on a
block, the prefix the cache already holds is ``cache_read_input_tokens`` and a first
sight of it is ``cache_creation_input_tokens``; ``input_tokens`` is the rest.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from folio_fakellm._http import client_request_id, read_json
from folio_fakellm.core import CallError, CallResult, Engine, ErrorKind, LLMCall, format_seconds

router = APIRouter()

ENDPOINT = "anthropic.messages"

_ERROR_TYPES = {
    ErrorKind.MISSING_KEY: "authentication_error",
    ErrorKind.INVALID_KEY: "authentication_error",
    ErrorKind.DENIED_KEY: "permission_error",
    ErrorKind.UNKNOWN_TOKEN: "authentication_error",
    ErrorKind.RATE_LIMITED: "rate_limit_error",
    ErrorKind.SERVER_ERROR: "api_error",
    ErrorKind.UNAVAILABLE: "overloaded_error",
    ErrorKind.BAD_REQUEST: "invalid_request_error",
    ErrorKind.UNSUPPORTED_FORMAT: "invalid_request_error",
}
_STOP = {"stop": "end_turn", "length": "max_tokens", "safety": "refusal"}


def error_response(
    status: int, type_: str, message: str, retry_after: float | None = None
) -> JSONResponse:
    headers = {"request-id": f"req_{secrets.token_hex(12)}"}
    if retry_after is not None:
        headers["retry-after"] = format_seconds(retry_after)
    body = {
        "type": "error",
        "error": {"type": type_, "message": message},
        "request_id": headers["request-id"],
    }
    return JSONResponse(body, status_code=status, headers=headers)


def _text(content: Any) -> tuple[str, bool]:
    """The text of a ``content`` (string or blocks) and whether a block asks for caching."""
    if isinstance(content, str):
        return content, False
    if not isinstance(content, list):
        return "", False
    texts, cached = [], False
    for block in content:
        if isinstance(block, dict) and block.get("type") == "text":
            texts.append(str(block.get("text") or ""))
            cached = cached or isinstance(block.get("cache_control"), dict)
    return "\n".join(texts), cached


def _parse(body: Any) -> tuple[dict[str, Any], CallError | None, str | None, bool]:
    fields: dict[str, Any] = {"model": "", "prompt": "", "user_texts": []}
    if not isinstance(body, dict):
        return fields, CallError(ErrorKind.BAD_REQUEST, "Request body must be JSON"), None, False
    fields["model"] = str(body.get("model") or "")
    if not fields["model"]:
        return fields, CallError(ErrorKind.BAD_REQUEST, "model: Field required"), None, False
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return fields, CallError(ErrorKind.BAD_REQUEST, "max_tokens: Field required"), None, False
    fields["max_output_tokens"] = max_tokens
    texts: list[str] = []
    system, cache = _text(body.get("system"))
    if system:
        texts.append(system)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return fields, CallError(ErrorKind.BAD_REQUEST, "messages: Field required"), None, False
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return (
                fields,
                CallError(ErrorKind.BAD_REQUEST, "messages: roles must be user or assistant"),
                None,
                False,
            )
        text, flagged = _text(message.get("content"))
        cache = cache or flagged
        texts.append(text)
        if message["role"] == "user":
            fields["user_texts"].append(text)
    fields["prompt"] = "\n\n".join(texts)
    if body.get("stream"):
        return fields, CallError(ErrorKind.BAD_REQUEST, "stream is not supported here"), None, cache
    tool_name = None
    choice = body.get("tool_choice")
    tools = body.get("tools") if isinstance(body.get("tools"), list) else []
    if isinstance(choice, dict) and choice.get("type") == "tool":
        tool_name = str(choice.get("name") or "")
        tool = next((t for t in tools if isinstance(t, dict) and t.get("name") == tool_name), None)
        if tool is None or not isinstance(tool.get("input_schema"), dict):
            return (
                fields,
                CallError(
                    ErrorKind.BAD_REQUEST, f"tool_choice names an unknown tool {tool_name!r}"
                ),
                None,
                cache,
            )
        fields.update(structured=True, schema=tool["input_schema"], schema_name=tool_name)
    return fields, None, tool_name, cache


def render(call: LLMCall, result: CallResult, tool: str | None, cache: bool) -> JSONResponse:
    if result.error is not None:
        return error_response(
            result.status,
            _ERROR_TYPES[result.error.kind],
            result.error.message,
            result.error.retry_after,
        )
    if result.prompt_blocked:
        return error_response(
            400, "invalid_request_error", "Output blocked by content filtering policy"
        )
    content: list[dict[str, Any]]
    stop = _STOP[result.finish]
    if tool is not None and result.finish == "stop":
        try:
            arguments = json.loads(result.text)
        except ValueError:
            arguments = {"raw": result.text}  # a malformed-json fault: not the schema
        content = [
            {
                "type": "tool_use",
                "id": f"toolu_{secrets.token_hex(12)}",
                "name": tool,
                "input": arguments,
            }
        ]
        stop = "tool_use"
    else:
        content = [{"type": "text", "text": result.text}] if result.text else []
    read = result.cached_tokens if cache else 0
    written = result.prompt_tokens - read if cache and not read else 0
    return JSONResponse(
        {
            "id": f"msg_{secrets.token_hex(12)}",
            "type": "message",
            "role": "assistant",
            "model": call.model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {
                "input_tokens": result.prompt_tokens - read - written,
                "cache_creation_input_tokens": written,
                "cache_read_input_tokens": read,
                "output_tokens": result.completion_tokens,
            },
        }
    )


def _bearer(request: Request) -> str | None:
    # The SDK's 2.x releases send the key as a bearer token; the API takes both.
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


@router.post("/v1/messages")
async def messages(request: Request) -> JSONResponse:
    engine: Engine = request.app.state.engine
    key = request.headers.get("x-api-key") or _bearer(request)
    if not request.headers.get("anthropic-version"):
        engine.stats.count(ENDPOINT, "400")
        return error_response(400, "invalid_request_error", "anthropic-version: header is required")
    fields, invalid, tool, cache = _parse(await read_json(request))
    verdict = engine.check_key(key)
    if verdict is not None and verdict.kind is ErrorKind.MISSING_KEY:
        verdict = CallError(ErrorKind.MISSING_KEY, "x-api-key header is required")
    elif verdict is not None and verdict.kind is ErrorKind.INVALID_KEY:
        verdict = CallError(ErrorKind.INVALID_KEY, "invalid x-api-key")
    elif verdict is not None and verdict.kind is ErrorKind.DENIED_KEY:
        verdict = CallError(
            ErrorKind.DENIED_KEY,
            "Your API key does not have permission to use the specified resource.",
        )
    call = LLMCall(
        protocol="anthropic",
        endpoint=ENDPOINT,
        key=key,
        **fields,
        client_request_id=client_request_id(request),
    )
    result = await engine.run(call, pre_error=verdict or invalid)
    return render(call, result, tool, cache)
