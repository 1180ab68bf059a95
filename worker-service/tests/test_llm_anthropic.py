"""The Anthropic Messages provider against the fake's Messages API over real HTTP."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from folio.contracts.providers import ProviderConfig, key_id
from folio_worker.llm import (
    CallUsage,
    InProcessRateLimiter,
    LLMAuthError,
    LLMClient,
    LLMExhausted,
    LLMRequest,
)
from folio_worker.llm.providers.anthropic import AnthropicProvider, default_max_tokens
from folio_worker.llm.transport import AiohttpTransport

SOURCE = "Gregor Samsa woke in Prague. Gregor looked at Grete, and Grete smiled."


class Character(BaseModel):
    name: str
    translation: str


class Cast(BaseModel):
    characters: list[Character]
    summary: str


def claude(
    url: str, http: AiohttpTransport, *keys: str, calls: list[CallUsage] | None = None
) -> LLMClient:
    cfg = ProviderConfig(
        provider="anthropic",
        model="claude-haiku-4-5",
        base_url=url,
        api_keys=keys or (f"sk-ant-{uuid.uuid4().hex}",),
    )
    return LLMClient(
        cfg,
        http,  # type: ignore[arg-type]
        limiter=InProcessRateLimiter(),
        backoff_base_s=0.01,
        backoff_cap_s=0.05,
        max_attempts=3,
        on_call=calls.append if calls is not None else None,
    )


def tagged(marker: str = "") -> tuple[str, str]:
    tag = f"run-{uuid.uuid4().hex[:10]}"
    return (
        tag,
        f"Translate into Japanese ({tag}). {marker}\n"
        f"<target_language>ja</target_language><source>{SOURCE}</source>",
    )


async def sent(http: AiohttpTransport, url: str, tag: str) -> list[dict[str, Any]]:
    return [r for r in (await http.get(url + "/_fake/requests")).json() if tag in r["prompt"]]


async def test_text_call_with_system_and_usage(fake_llm_url: str, http: AiohttpTransport) -> None:
    calls: list[CallUsage] = []
    client = claude(fake_llm_url, http, calls=calls)
    tag, prompt = tagged()
    response = await client.generate(LLMRequest(prompt, system="You translate novels."))
    assert response.text and "Gregor" not in response.text and response.finish == "stop"
    [logged] = await sent(http, fake_llm_url, tag)
    assert logged["endpoint"] == "anthropic.messages"
    assert "You translate novels." in logged["prompt"]
    assert response.usage.output_tokens == logged["completion_tokens"]
    assert response.usage.input_tokens == logged["prompt_tokens"]
    assert calls == [response.usage]


async def test_structured_output_through_a_forced_tool(
    fake_llm_url: str, http: AiohttpTransport
) -> None:
    tag, prompt = tagged()
    response = await claude(fake_llm_url, http).generate(LLMRequest(prompt, schema=Cast))
    assert isinstance(response.parsed, Cast)
    assert {c.name for c in response.parsed.characters} >= {"Gregor", "Grete"}
    assert Cast.model_validate_json(response.text) == response.parsed
    [logged] = await sent(http, fake_llm_url, tag)
    assert logged["structured"] is True and logged["schema_name"] == "Cast"


async def test_the_request_is_what_the_messages_api_expects() -> None:
    cfg = ProviderConfig(
        provider="anthropic", model="claude-3-haiku-20240307", api_keys=("sk-ant-k",)
    )
    provider = AnthropicProvider(cfg)
    [credential] = provider.credentials()
    request = await provider.build(
        LLMRequest("hi", system="sys", schema=Cast, temperature=1.4), credential
    )
    assert str(request.url) == "https://api.anthropic.com/v1/messages"
    assert request.headers["x-api-key"] == "sk-ant-k"
    assert request.headers["anthropic-version"] == "2023-06-01"
    body = json.loads(request.content)
    assert body["max_tokens"] == 4096 == default_max_tokens("claude-3-haiku-20240307")
    assert body["system"] == "sys" and body["temperature"] == 1.0  # Anthropic's range is 0..1
    assert body["tool_choice"] == {"type": "tool", "name": "Cast"}
    schema = body["tools"][0]["input_schema"]
    assert schema["type"] == "object" and "$defs" not in json.dumps(schema)


def test_cache_reads_are_part_of_the_input_and_counted_as_cached() -> None:
    cfg = ProviderConfig(provider="anthropic", model="claude-sonnet-4-5", api_keys=("k",))
    answer = {
        "type": "message",
        "content": [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "done"}],
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": 50,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 2000,
            "output_tokens": 10,
        },
    }
    parsed = AnthropicProvider(cfg).parse(LLMRequest("x"), httpx.Response(200, json=answer))
    assert parsed.text == "done"
    assert (parsed.tokens.input, parsed.tokens.cached, parsed.tokens.output) == (2050, 2000, 10)


async def test_overload_is_retried_and_a_bad_key_is_an_auth_error(
    fake_llm_url: str, http: AiohttpTransport
) -> None:
    calls: list[CallUsage] = []
    tag, prompt = tagged("[[fake:503*1]]")
    assert (await claude(fake_llm_url, http, calls=calls).generate(LLMRequest(prompt))).text
    assert [r["outcome"] for r in await sent(http, fake_llm_url, tag)] == ["529", "ok"]
    with pytest.raises(LLMExhausted, match="529 overloaded"):
        await claude(fake_llm_url, http).generate(LLMRequest(tagged("[[fake:503]]")[1]))
    bad = f"invalid-{uuid.uuid4().hex}"
    with pytest.raises(LLMAuthError, match=r"401 unauthorized") as caught:
        await claude(fake_llm_url, http, bad).generate(LLMRequest(tagged()[1]))
    assert bad not in caught.value.reason and key_id(bad)


async def test_a_cut_structured_answer_gets_a_larger_limit(
    fake_llm_url: str, http: AiohttpTransport
) -> None:
    calls: list[CallUsage] = []
    _, prompt = tagged()
    response = await claude(fake_llm_url, http, calls=calls).generate(
        LLMRequest(prompt, schema=Cast, max_output_tokens=16)
    )
    assert isinstance(response.parsed, Cast)
    assert [c.outcome for c in calls] == ["length", "ok"]
