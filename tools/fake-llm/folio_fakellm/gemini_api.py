"""Gemini REST (``generativelanguage`` v1beta) and its Vertex AI form, plus the OAuth token.

Folio's Gemini client speaks the public REST shape; the same handler serves Vertex paths with
bearer tokens that must come from this server's ``/token`` endpoint (the JWT-bearer grant a
service-account credential performs), so the whole credential flow is exercised offline.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from folio_fakellm._http import client_request_id, read_body, read_json
from folio_fakellm.core import (
    CallError,
    CallResult,
    Engine,
    ErrorKind,
    LLMCall,
    format_seconds,
    http_status,
)
from folio_fakellm.tokens import estimate_tokens

router = APIRouter()

GEMINI_ENDPOINT = "gemini.generateContent"
VERTEX_ENDPOINT = "vertex.generateContent"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "safety": "SAFETY"}
_HARM_CATEGORIES = (
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
)


def error_response(
    status: int,
    message: str,
    details: list[dict[str, Any]] | None = None,
    retry_after: float | None = None,
) -> JSONResponse:
    """A Google-style error (``{"error": {code, message, status, details}}``)."""
    details = list(details or [])
    headers = None
    if retry_after is not None:
        headers = {"Retry-After": format_seconds(retry_after)}
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": f"{format_seconds(retry_after)}s",
            }
        )
    body: dict[str, Any] = {
        "error": {
            "code": status,
            "message": message,
            "status": _STATUS_NAMES.get(status, "UNKNOWN"),
        }
    }
    if details:
        body["error"]["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _get(d: dict[str, Any], camel: str, snake: str) -> Any:
    """REST accepts both ``camelCase`` and ``snake_case`` field names."""
    return d.get(camel, d.get(snake))


def _parts_text(parts: Any) -> str:
    if not isinstance(parts, list):
        return ""
    return "\n".join(
        p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)
    )


def _parse(body: Any, model: str) -> tuple[dict[str, Any], CallError | None]:
    fields: dict[str, Any] = {"model": model, "prompt": "", "user_texts": []}
    if not isinstance(body, dict):
        return fields, CallError(ErrorKind.BAD_REQUEST, "Invalid JSON payload received.")
    texts: list[str] = []
    system = _get(body, "systemInstruction", "system_instruction")
    if isinstance(system, dict):
        texts.append(_parts_text(system.get("parts")))
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return fields, CallError(
            ErrorKind.BAD_REQUEST, "* GenerateContentRequest.contents: contents is not specified"
        )
    for c in contents:
        if not isinstance(c, dict):
            return fields, CallError(ErrorKind.BAD_REQUEST, "Invalid value at 'contents'")
        text = _parts_text(c.get("parts"))
        texts.append(text)
        if c.get("role", "user") == "user":
            fields["user_texts"].append(text)
    fields["prompt"] = "\n\n".join(texts)
    config = _get(body, "generationConfig", "generation_config") or {}
    if not isinstance(config, dict):
        return fields, CallError(ErrorKind.BAD_REQUEST, "Invalid value at 'generation_config'")
    max_tokens = _get(config, "maxOutputTokens", "max_output_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
        fields["max_output_tokens"] = max_tokens
    thinking = _get(config, "thinkingConfig", "thinking_config")
    if isinstance(thinking, dict):
        fields["thinking"] = thinking
    mime = _get(config, "responseMimeType", "response_mime_type") or "text/plain"
    schema = _get(config, "responseJsonSchema", "response_json_schema")
    if schema is None:
        schema = _get(config, "responseSchema", "response_schema")
    if schema is not None and mime != "application/json":
        return fields, CallError(
            ErrorKind.BAD_REQUEST,
            "responseSchema requires responseMimeType to be application/json",
        )
    if mime == "application/json":
        fields["structured"] = True
        if isinstance(schema, dict):
            fields["schema"] = schema
            title = schema.get("title")
            fields["schema_name"] = title if isinstance(title, str) else None
    return fields, None


def _usage(result: CallResult, with_candidates: bool = True) -> dict[str, int]:
    usage = {"promptTokenCount": result.prompt_tokens}
    total = result.prompt_tokens
    if with_candidates:
        usage["candidatesTokenCount"] = result.completion_tokens
        total += result.completion_tokens
    if result.thought_tokens:
        usage["thoughtsTokenCount"] = result.thought_tokens
        total += result.thought_tokens
    if result.cached_tokens:  # implicit caching (Gemini 2.5 and later)
        usage["cachedContentTokenCount"] = result.cached_tokens
    usage["totalTokenCount"] = total
    return usage


def _safety_ratings(blocked: bool) -> list[dict[str, Any]]:
    ratings = []
    for i, cat in enumerate(_HARM_CATEGORIES):
        hit = blocked and i == 1
        rating: dict[str, Any] = {"category": cat, "probability": "HIGH" if hit else "NEGLIGIBLE"}
        if hit:
            rating["blocked"] = True
        ratings.append(rating)
    return ratings


# What Google's servers say about keys, word for word.
KEY_NOT_VALID = "API key not valid. Please pass a valid API key."
NO_KEY = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
DENIED = "Your API key was reported as leaked. Please use another API key."


def _error_message(error: CallError) -> str:
    if error.kind is ErrorKind.INVALID_KEY:
        return KEY_NOT_VALID
    if error.kind is ErrorKind.MISSING_KEY:
        return NO_KEY
    if error.kind is ErrorKind.DENIED_KEY:
        return DENIED
    return error.message


def _error_details(error: CallError) -> list[dict[str, Any]]:
    if error.kind is ErrorKind.INVALID_KEY:  # a missing key has no details
        return [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            },
            {
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": KEY_NOT_VALID,
            },
        ]
    if error.kind is ErrorKind.RATE_LIMITED:
        return [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {"quotaMetric": "generativelanguage.googleapis.com/generate_content_requests"}
                ],
            }
        ]
    return []


def call_error_response(status: int, error: CallError) -> JSONResponse:
    """A ``CallError`` as Google words it (key errors word for word)."""
    return error_response(status, _error_message(error), _error_details(error), error.retry_after)


def render(call: LLMCall, result: CallResult) -> JSONResponse:
    """Render a ``CallResult`` as a Gemini ``GenerateContentResponse`` or error."""
    if result.error is not None:
        return call_error_response(result.status, result.error)
    response_id = secrets.token_urlsafe(12)
    if result.prompt_blocked:
        return JSONResponse(
            {
                "promptFeedback": {
                    "blockReason": "PROHIBITED_CONTENT",
                    "safetyRatings": _safety_ratings(True),
                },
                "usageMetadata": _usage(result, with_candidates=False),
                "modelVersion": call.model,
                "responseId": response_id,
            }
        )
    candidate: dict[str, Any] = {"finishReason": _FINISH[result.finish], "index": 0}
    finish = next((f.split(":", 1)[1] for f in result.flags if f.startswith("finish:")), None)
    if finish is not None:  # a ``finish=NAME`` marker: the answer withheld for that reason
        candidate["finishReason"] = finish
        if finish == "RECITATION":
            candidate["citationMetadata"] = {
                "citationSources": [
                    {"startIndex": 0, "endIndex": 40, "uri": "https://example.org/book"}
                ]
            }
        return JSONResponse(
            {
                "candidates": [candidate],
                "usageMetadata": _usage(result),
                "modelVersion": call.model,
                "responseId": response_id,
            }
        )
    if result.finish == "safety":
        candidate["safetyRatings"] = _safety_ratings(True)
    else:
        candidate = {
            "content": {"role": "model", "parts": [{"text": result.text}]},
            **candidate,
        }
    return JSONResponse(
        {
            "candidates": [candidate],
            "usageMetadata": _usage(result),
            "modelVersion": call.model,
            "responseId": response_id,
        }
    )


def _api_key(request: Request) -> str | None:
    return request.headers.get("x-goog-api-key") or request.query_params.get("key") or None


@router.post("/v1beta/models/{model}:generateContent")
@router.post("/v1/models/{model}:generateContent")
async def generate_content(model: str, request: Request) -> JSONResponse:
    engine = _engine(request)
    key = _api_key(request)
    fields, invalid = _parse(await read_json(request), model)
    call = LLMCall(
        protocol="gemini",
        endpoint=GEMINI_ENDPOINT,
        key=key,
        **fields,
        client_request_id=client_request_id(request),
    )
    result = await engine.run(call, pre_error=engine.check_key(key) or invalid)
    return render(call, result)


@router.post(
    "/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent"
)
@router.post(
    "/v1beta1/projects/{project}/locations/{location}/publishers/google/models/{model}"
    ":generateContent"
)
async def vertex_generate_content(
    project: str, location: str, model: str, request: Request
) -> JSONResponse:
    engine = _engine(request)
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" and token.strip() else None
    fields, invalid = _parse(await read_json(request), model)
    call = LLMCall(
        protocol="gemini",
        endpoint=VERTEX_ENDPOINT,
        key=bearer,
        **fields,
        client_request_id=client_request_id(request),
    )
    result = await engine.run(call, pre_error=engine.check_token(bearer) or invalid)
    return render(call, result)


@router.post("/v1beta/models/{model}:countTokens")
async def count_tokens(model: str, request: Request) -> JSONResponse:
    engine = _engine(request)
    verdict = engine.check_key(_api_key(request))
    if verdict is not None:
        status = http_status("gemini", verdict.kind)
        engine.stats.count("gemini.countTokens", str(status))
        return call_error_response(status, verdict)
    fields, invalid = _parse(await read_json(request), model)
    if invalid is not None:
        engine.stats.count("gemini.countTokens", "400")
        return error_response(400, invalid.message)
    engine.stats.count("gemini.countTokens", "ok")
    return JSONResponse({"totalTokens": estimate_tokens(fields["prompt"])})


def _model_info(model: str) -> dict[str, Any]:
    return {
        "name": f"models/{model}",
        "baseModelId": model,
        "version": "fake",
        "displayName": model,
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
        "thinking": model.startswith("gemini-2.5") or model.startswith("gemini-3"),
    }


@router.get("/v1beta/models")
async def list_models(request: Request) -> JSONResponse:
    engine = _engine(request)
    engine.stats.count("gemini.models", "ok")
    return JSONResponse({"models": [_model_info(m) for m in engine.settings.model_list]})


@router.get("/v1beta/models/{model}")
async def get_model(model: str, request: Request) -> JSONResponse:
    engine = _engine(request)
    key = _api_key(request)
    error = engine.check_key(key) if key else None  # a key sent and not valid is refused
    if error is not None:
        status = http_status("gemini", error.kind)
        engine.stats.count("gemini.models", str(status))
        return call_error_response(status, error)
    if model not in engine.settings.model_list:
        engine.stats.count("gemini.models", "404")
        return error_response(404, f"models/{model} is not found for API version v1beta")
    engine.stats.count("gemini.models", "ok")
    return JSONResponse(_model_info(model))


def _valid_jwt(assertion: str) -> bool:
    """Shape check only: three base64url segments with a JSON object header and payload."""
    segments = assertion.split(".")
    if len(segments) != 3 or not all(segments[:2]):
        return False
    try:
        for seg in segments[:2]:
            decoded = json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))
            if not isinstance(decoded, dict):
                return False
    except (ValueError, binascii.Error):
        return False
    return True


@router.post("/token")
async def oauth_token(request: Request) -> JSONResponse:
    """OAuth2 JWT-bearer grant, as google-auth's service-account credentials perform it."""
    engine = _engine(request)
    form = parse_qs((await read_body(request)).decode("utf-8", "replace"))
    grant = (form.get("grant_type") or [""])[0]
    assertion = (form.get("assertion") or [""])[0]
    if grant != JWT_BEARER:
        engine.stats.count("oauth.token", "400")
        return JSONResponse(
            {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"},
            status_code=400,
        )
    if not assertion or not _valid_jwt(assertion):
        engine.stats.count("oauth.token", "400")
        return JSONResponse(
            {"error": "invalid_grant", "error_description": "Invalid JWT assertion"},
            status_code=400,
        )
    engine.stats.count("oauth.token", "ok")
    return JSONResponse(
        {"access_token": engine.issue_token(), "expires_in": 3600, "token_type": "Bearer"}
    )
