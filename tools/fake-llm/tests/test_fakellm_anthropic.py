"""The Messages API as the fake answers it (the SDK check is in test_fakellm_sdk.py)."""

from __future__ import annotations

from typing import Any

import httpx

SOURCE = "<source>Gregor Samsa woke. Grete smiled at Gregor.</source>"
HEADERS = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
TOOL = {
    "name": "Names",
    "description": "d",
    "input_schema": {
        "type": "object",
        "properties": {"names": {"type": "array", "items": {"type": "string"}}},
        "required": ["names"],
    },
}


def body(**extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-haiku-4-5",
        "max_tokens": 512,
        "messages": [{"role": "user", "content": SOURCE}],
        **extra,
    }


async def test_text_answer_and_usage(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/messages", json=body(system="Translate."), headers=HEADERS)
    data = r.json()
    assert r.status_code == 200 and data["type"] == "message" and data["stop_reason"] == "end_turn"
    assert data["content"][0]["type"] == "text" and "Gregor" not in data["content"][0]["text"]
    assert data["usage"]["input_tokens"] > 0 and data["usage"]["output_tokens"] > 0


async def test_forced_tool_is_the_structured_answer(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/messages",
        json=body(tools=[TOOL], tool_choice={"type": "tool", "name": "Names"}),
        headers=HEADERS,
    )
    data = r.json()
    assert data["stop_reason"] == "tool_use"
    [call] = data["content"]
    assert call["type"] == "tool_use" and call["name"] == "Names"
    assert call["input"]["names"][:2] == ["Gregor", "Samsa"]


async def test_required_headers_and_errors(client: httpx.AsyncClient) -> None:
    no_version = await client.post("/v1/messages", json=body(), headers={"x-api-key": "k"})
    assert no_version.status_code == 400
    assert no_version.json()["error"]["type"] == "invalid_request_error"
    bad = await client.post(
        "/v1/messages", json=body(), headers={**HEADERS, "x-api-key": "invalid-k"}
    )
    assert bad.status_code == 401
    assert bad.json()["type"] == "error"
    assert bad.json()["error"] == {"type": "authentication_error", "message": "invalid x-api-key"}
    missing = await client.post(
        "/v1/messages", json=body(), headers={"anthropic-version": HEADERS["anthropic-version"]}
    )
    assert missing.status_code == 401
    assert missing.json()["error"] == {
        "type": "authentication_error",
        "message": "x-api-key header is required",
    }
    denied = await client.post(
        "/v1/messages", json=body(), headers={**HEADERS, "x-api-key": "denied-k"}
    )
    assert denied.status_code == 403 and denied.json()["error"]["type"] == "permission_error"
    overloaded = await client.post(
        "/v1/messages",
        json=body(messages=[{"role": "user", "content": SOURCE + "[[fake:503]]"}]),
        headers=HEADERS,
    )
    assert overloaded.status_code == 529
    assert overloaded.json()["error"]["type"] == "overloaded_error"
    limited = await client.post(
        "/v1/messages",
        json=body(messages=[{"role": "user", "content": SOURCE + "[[fake:429:retry=3]]"}]),
        headers=HEADERS,
    )
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"


async def test_cache_control_reports_reads_and_writes(client: httpx.AsyncClient) -> None:
    system = [
        {
            "type": "text",
            "text": "Constant instructions. " * 300,
            "cache_control": {"type": "ephemeral"},
        }
    ]
    first = (await client.post("/v1/messages", json=body(system=system), headers=HEADERS)).json()
    second = (await client.post("/v1/messages", json=body(system=system), headers=HEADERS)).json()
    assert first["usage"]["cache_creation_input_tokens"] > 0
    assert first["usage"]["cache_read_input_tokens"] == 0
    assert second["usage"]["cache_read_input_tokens"] >= 1024
