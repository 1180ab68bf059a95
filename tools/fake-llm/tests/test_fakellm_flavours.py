"""Each OpenAI-compatible server's answers, as the fake reproduces them per flavour."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

SCHEMA = {
    "type": "object",
    "properties": {"names": {"type": "array", "items": {"type": "string"}}},
    "required": ["names"],
    "additionalProperties": False,
}
SOURCE = "<source>Gregor Samsa woke. Grete smiled at Gregor.</source>"


def chat(**extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": SOURCE}], **extra}


def json_schema_format() -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "Names", "schema": SCHEMA}}


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any], **headers: str) -> Any:
    return await client.post(path, json=body, headers={"Authorization": "Bearer k", **headers})


async def test_llama_cpp_python_answers_json_schema_with_its_500(
    client: httpx.AsyncClient,
) -> None:
    r = await post(
        client,
        "/flavour/llama-cpp-python/v1/chat/completions",
        chat(response_format=json_schema_format()),
    )
    assert r.status_code == 500
    error = r.json()["error"]
    assert error["type"] == "internal_server_error" and error["code"] is None
    assert "Input should be 'text' or 'json_object'" in error["message"]


async def test_llama_cpp_python_enforces_the_schema_field_only(client: httpx.AsyncClient) -> None:
    path = "/flavour/llama-cpp-python/v1/chat/completions"
    prompt_only = chat(
        response_format={"type": "json_object"},
        messages=[{"role": "user", "content": SOURCE + "<json_schema>" + json.dumps(SCHEMA)}],
    )
    ignored = json.loads(
        (await post(client, path, prompt_only)).json()["choices"][0]["message"]["content"]
    )
    assert "names" not in ignored  # a schema in the prompt alone is not followed
    with_field = chat(response_format={"type": "json_object", "schema": SCHEMA})
    answer = (await post(client, path, with_field)).json()["choices"][0]["message"]["content"]
    assert json.loads(answer)["names"][:2] == ["Gregor", "Samsa"]


@pytest.mark.parametrize(
    ("flavour", "field"),
    [("llama-server", "reasoning_content"), ("openrouter", "reasoning")],
)
async def test_reasoning_fields(client: httpx.AsyncClient, flavour: str, field: str) -> None:
    prefix = "/flavour/openrouter/api" if flavour == "openrouter" else f"/flavour/{flavour}"
    r = await post(client, f"{prefix}/v1/chat/completions", chat(model="deepseek-r1"))
    message = r.json()["choices"][0]["message"]
    assert "Gregor" in message[field] and "<think>" not in message["content"]


@pytest.mark.parametrize("flavour", ["vllm", "ollama", "llama-cpp-python"])
async def test_reasoning_inline_without_a_parser(client: httpx.AsyncClient, flavour: str) -> None:
    r = await post(client, f"/flavour/{flavour}/v1/chat/completions", chat(model="qwen3:8b"))
    content = r.json()["choices"][0]["message"]["content"]
    assert content.startswith("<think>") and "</think>" in content
    assert "Gregor" in content.split("</think>")[0]  # the chain of thought quotes the source


async def test_openai_counts_hidden_reasoning_inside_completion_tokens(
    client: httpx.AsyncClient,
) -> None:
    r = (await post(client, "/v1/chat/completions", chat(model="o4-mini"))).json()
    usage = r["usage"]
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    assert reasoning > 0 and usage["completion_tokens"] > reasoning
    assert "<think>" not in r["choices"][0]["message"]["content"]


async def test_mistral_sends_content_as_parts(client: httpx.AsyncClient) -> None:
    r = await post(client, "/flavour/mistral/v1/chat/completions", chat(model="magistral-small"))
    parts = r.json()["choices"][0]["message"]["content"]
    assert [p["type"] for p in parts] == ["thinking", "text"]


async def test_prefix_cache_reports_cached_tokens(client: httpx.AsyncClient) -> None:
    prefix = "Instructions that never change. " * 200  # about 1600 tokens
    first = await post(
        client,
        "/v1/chat/completions",
        chat(messages=[{"role": "system", "content": prefix}, {"role": "user", "content": SOURCE}]),
    )
    second = await post(
        client,
        "/v1/chat/completions",
        chat(
            messages=[
                {"role": "system", "content": prefix},
                {"role": "user", "content": "<source>Other.</source>"},
            ]
        ),
    )
    assert first.json()["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
    cached = second.json()["usage"]["prompt_tokens_details"]["cached_tokens"]
    assert cached >= 1024 and cached % 128 == 0


async def test_ollama_truncates_silently(make_client: Any) -> None:
    client = make_client(ollama_num_ctx=64)
    long = "<source>" + "word " * 2000 + "</source>"
    r = await post(
        client,
        "/flavour/ollama/v1/chat/completions",
        chat(messages=[{"role": "user", "content": long}]),
    )
    body = r.json()
    assert r.status_code == 200 and body["system_fingerprint"] == "fp_ollama"
    assert body["usage"]["prompt_tokens"] <= 64


async def test_context_window_errors(make_client: Any) -> None:
    client = make_client(context_window=64)
    long = chat(messages=[{"role": "user", "content": "word " * 2000}])
    server = await post(client, "/flavour/llama-server/v1/chat/completions", long)
    assert server.status_code == 400
    assert server.json()["error"]["type"] == "exceed_context_size_error"
    assert server.json()["error"]["n_ctx"] == 64
    vllm = await post(client, "/flavour/vllm/v1/chat/completions", long)
    assert vllm.status_code == 400 and vllm.json()["object"] == "error"
    assert "maximum context length is 64 tokens" in vllm.json()["message"]


async def test_openrouter_moderation_is_a_403_and_a_bad_key_a_401(
    client: httpx.AsyncClient,
) -> None:
    path = "/flavour/openrouter/api/v1/chat/completions"
    flagged = await post(
        client, path, chat(messages=[{"role": "user", "content": SOURCE + "[[fake:block-prompt]]"}])
    )
    assert flagged.status_code == 403 and flagged.json()["error"]["code"] == 403
    assert "metadata" in flagged.json()["error"]
    bad_key = await client.post(path, json=chat(), headers={"Authorization": "Bearer invalid-x"})
    assert bad_key.status_code == 401


async def test_openrouter_ignores_the_schema_unless_parameters_are_required(
    client: httpx.AsyncClient,
) -> None:
    path = "/flavour/openrouter/api/v1/chat/completions"
    loose = await post(client, path, chat(response_format=json_schema_format()))
    assert "names" not in json.loads(loose.json()["choices"][0]["message"]["content"])
    strict = await post(
        client,
        path,
        chat(response_format=json_schema_format(), provider={"require_parameters": True}),
    )
    assert "names" in json.loads(strict.json()["choices"][0]["message"]["content"])


async def test_azure_paths_headers_and_content_filter(client: httpx.AsyncClient) -> None:
    path = "/openai/deployments/gpt4o/chat/completions"
    ok = await client.post(path + "?api-version=2024-10-21", json=chat(), headers={"api-key": "k"})
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"]
    no_version = await client.post(path, json=chat(), headers={"api-key": "k"})
    assert no_version.status_code == 404
    bearer_only = await client.post(
        path + "?api-version=2024-10-21", json=chat(), headers={"Authorization": "Bearer k"}
    )
    assert bearer_only.status_code == 401 and bearer_only.json()["error"]["code"] == "401"
    wrong = await client.post(
        path + "?api-version=2024-10-21", json=chat(), headers={"api-key": "invalid-k"}
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "401"
    assert wrong.json()["error"]["message"].startswith(
        "Access denied due to invalid subscription key or wrong API endpoint."
    )
    filtered = await client.post(
        path + "?api-version=2024-10-21",
        json=chat(messages=[{"role": "user", "content": SOURCE + "[[fake:block-prompt]]"}]),
        headers={"api-key": "k"},
    )
    error = filtered.json()["error"]
    assert filtered.status_code == 400 and error["code"] == "content_filter"
    assert error["innererror"]["code"] == "ResponsibleAIPolicyViolation"


async def test_per_key_limits_answer_429(make_client: Any) -> None:
    client = make_client(rpm_limit=2)
    codes = [(await post(client, "/v1/chat/completions", chat())).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
