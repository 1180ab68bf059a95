"""OpenAI-compatible endpoint: shape, auth, response formats, markers."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import httpx
from pydantic import BaseModel

from folio_fakellm.pseudo import pseudo_translate
from folio_fakellm.tokens import estimate_tokens

AUTH = {"Authorization": "Bearer sk-test-123"}


def body(text: str, **extra: object) -> dict[str, object]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}


class Term(BaseModel):
    source_term: str
    translated_term: str


class Terms(BaseModel):
    terms: list[Term]


async def test_chat_completion_shape_and_usage(client: httpx.AsyncClient, sample: str) -> None:
    messages = [
        {"role": "system", "content": "You translate books."},
        {"role": "user", "content": [{"type": "text", "text": f"<source>{sample}</source>"}]},
    ]
    r = await client.post(
        "/v1/chat/completions",
        headers=AUTH,
        json={"model": "gpt-4o-mini", "messages": messages, "temperature": 0.2},
    )
    assert r.status_code == 200
    data = r.json()
    assert data["object"] == "chat.completion"
    assert data["model"] == "gpt-4o-mini"
    choice = data["choices"][0]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    content = choice["message"]["content"]
    assert content == pseudo_translate(sample, "Korean")
    prompt = f"You translate books.\n\n<source>{sample}</source>"
    usage = data["usage"]
    assert usage["prompt_tokens"] == math.ceil(len(prompt.encode()) / 4)
    assert usage["completion_tokens"] == estimate_tokens(content)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens_details"] == {"reasoning_tokens": 0}


async def test_openrouter_path_and_target_language(client: httpx.AsyncClient) -> None:
    text = "<target_language>French</target_language><source>Hello there, Anna.</source>"
    r = await client.post("/api/v1/chat/completions", headers=AUTH, json=body(text))
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"] == pseudo_translate(
        "Hello there, Anna.", "French"
    )


async def test_auth_errors(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/chat/completions", json=body("hi"))
    assert r.status_code == 401
    assert set(r.json()["error"]) >= {"message", "type", "code"}
    r = await client.post(
        "/v1/chat/completions", headers={"Authorization": "Bearer invalid-key"}, json=body("hi")
    )
    assert r.status_code == 401  # OpenAI: a wrong key is 401 invalid_api_key, not 403
    assert r.json()["error"]["code"] == "invalid_api_key"
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert r.json()["error"]["message"].startswith("Incorrect API key provided: invalid-key.")
    long_key = "invalid-" + "0123456789abcdef" * 2
    r = await client.get("/v1/models", headers={"Authorization": f"Bearer {long_key}"})
    assert r.status_code == 401 and long_key not in r.json()["error"]["message"]
    assert "inv" + "*" * (len(long_key) - 7) + "cdef" in r.json()["error"]["message"]
    r = await client.post(
        "/v1/chat/completions", headers={"Authorization": "Bearer ratelimited-1"}, json=body("x")
    )
    assert r.status_code == 429
    assert r.headers["retry-after"] == "1"
    assert r.json()["error"]["code"] == "rate_limit_exceeded"


async def test_bad_request(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/chat/completions", headers=AUTH, json={"model": "m"})
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"
    r = await client.post(
        "/v1/chat/completions",
        headers=AUTH,
        content=b"{not json",
    )
    assert r.status_code == 400


async def test_json_schema_response(client: httpx.AsyncClient, sample: str) -> None:
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "terms", "schema": Terms.model_json_schema(), "strict": True},
    }
    r = await client.post(
        "/v1/chat/completions",
        headers=AUTH,
        json=body(f"<source>{sample}</source>", response_format=fmt),
    )
    assert r.status_code == 200
    parsed = Terms.model_validate_json(r.json()["choices"][0]["message"]["content"])
    assert [t.source_term for t in parsed.terms][:3] == ["Gregor", "Samsa", "Grete"]
    assert parsed.terms[2].translated_term == pseudo_translate("Grete", "Korean")
    log = (await client.get("/_fake/requests")).json()
    assert log[-1]["structured"] is True and log[-1]["schema_name"] == "terms"


async def test_json_schema_disabled(
    make_client: Callable[..., httpx.AsyncClient], sample: str
) -> None:
    client = make_client(openai_json_schema=False)
    fmt = {"type": "json_schema", "json_schema": {"name": "t", "schema": {"type": "object"}}}
    r = await client.post(
        "/v1/chat/completions", headers=AUTH, json=body(sample, response_format=fmt)
    )
    assert r.status_code == 400
    assert r.json() == {
        "error": {
            "message": "response_format json_schema is not supported by this server",
            "type": "invalid_request_error",
            "param": None,
            "code": "unsupported_response_format",
        }
    }
    schema = json.dumps(Terms.model_json_schema())
    prompt = f"Reply as JSON. <json_schema>{schema}</json_schema> <source>{sample}</source>"
    r = await client.post(
        "/v1/chat/completions",
        headers=AUTH,
        json=body(prompt, response_format={"type": "json_object"}),
    )
    assert r.status_code == 200
    Terms.model_validate_json(r.json()["choices"][0]["message"]["content"])


async def test_json_object_without_schema(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/chat/completions",
        headers=AUTH,
        json=body("<source>Good night.</source>", response_format={"type": "json_object"}),
    )
    content = json.loads(r.json()["choices"][0]["message"]["content"])
    assert content == {"result": pseudo_translate("Good night.", "Korean")}


async def test_markers(client: httpx.AsyncClient, sample: str) -> None:
    async def ask(marker: str, **extra: object) -> httpx.Response:
        return await client.post(
            "/v1/chat/completions",
            headers=AUTH,
            json=body(f"<source>{sample}</source>{marker}", **extra),
        )

    r = await ask("[[fake:429:retry=3*1]]")
    assert r.status_code == 429 and r.headers["retry-after"] == "3"
    r = await ask("[[fake:429:retry=3*1]]")
    assert r.status_code == 200
    assert (await ask("[[fake:500]]")).status_code == 500
    assert (await ask("[[fake:503]]")).json()["error"]["type"] == "server_error"

    r = await ask("[[fake:block-prompt]]")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "content_policy_violation"

    r = await ask("[[fake:block-candidate]]")
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "content_filter" and choice["message"]["content"] == ""

    full = pseudo_translate(sample, "Korean")
    r = await ask("[[fake:truncate]]")
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "length"
    assert full.startswith(choice["message"]["content"])
    assert len(choice["message"]["content"]) == len(full) // 2

    r = await ask("[[fake:echo]]")
    assert r.json()["choices"][0]["message"]["content"] == sample

    r = await ask("[[fake:empty]]")
    assert r.json()["choices"][0]["message"]["content"] == ""

    r = await ask("[[fake:malformed-json]]")  # free text: no effect
    assert r.json()["choices"][0]["message"]["content"] == full
    r = await ask("[[fake:malformed-json]]", response_format={"type": "json_object"})
    text = r.json()["choices"][0]["message"]["content"]
    try:
        json.loads(text)
    except ValueError:
        pass
    else:
        raise AssertionError(f"expected invalid JSON, got {text!r}")

    outcomes = (await client.get("/_fake/stats")).json()["by_outcome"]
    assert outcomes["429"] == 1 and outcomes["500"] == 1 and outcomes["503"] == 1
    assert outcomes["block-prompt"] == 1 and outcomes["malformed-json"] == 1


async def test_max_tokens_truncates(client: httpx.AsyncClient, book: str) -> None:
    r = await client.post(
        "/v1/chat/completions", headers=AUTH, json=body(book, max_completion_tokens=20)
    )
    data = r.json()
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] <= 20


async def test_models(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/models", headers=AUTH)
    ids = [m["id"] for m in r.json()["data"]]
    assert ids == ["fake-model", "gemini-2.5-flash", "gemini-flash-lite-latest", "gpt-4o-mini"]
    assert (await client.get("/v1/models/nope")).status_code == 404
