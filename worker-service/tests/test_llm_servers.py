"""Every OpenAI-compatible server Folio supports, as the fake reproduces it, end to end over
real HTTP through the production client and transport.

The fake picks the server's behaviour from the base URL (``<fake>/flavour/<name>/v1``):
llama-cpp-python's 500 for ``json_schema``, llama.cpp's ``reasoning_content`` and cached
tokens, vLLM's and Ollama's ``<think>`` in the content, Ollama's silent truncation,
OpenRouter's routing and moderation, Azure's paths and ``api-key`` header, Mistral's
content parts, OpenAI's hidden reasoning tokens.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel

from folio.contracts.providers import ProviderConfig
from folio_devstack.fakellm import running_fake_llm
from folio_worker.llm import (
    CallUsage,
    InProcessRateLimiter,
    LLMAuthError,
    LLMBadRequest,
    LLMClient,
    LLMRequest,
    SafetyBlocked,
)
from folio_worker.llm.providers.formats import FORMATS
from folio_worker.llm.transport import AiohttpTransport

SOURCE = "Gregor Samsa woke in Prague. Gregor looked at Grete, and Grete smiled."


class Names(BaseModel):
    names: list[str]
    summary: str


@pytest.fixture(scope="module")
async def fake() -> AsyncIterator[str]:
    async with running_fake_llm(
        FAKE_LLM_OLLAMA_NUM_CTX="256", FAKE_LLM_CONTEXT_WINDOW="4096"
    ) as url:
        yield url


def tagged(marker: str = "", text: str = SOURCE) -> tuple[str, str]:
    tag = f"run-{uuid.uuid4().hex[:10]}"
    return tag, f"Translate into Korean ({tag}). {marker}\n<source>{text}</source>"


async def sent(http: AiohttpTransport, fake: str, tag: str) -> list[dict[str, Any]]:
    log = (await http.get(fake + "/_fake/requests")).json()
    return [r for r in log if tag in r["prompt"]]


def client(
    fake: str,
    http: AiohttpTransport,
    flavour: str | None,
    *,
    provider: str = "openai",
    model: str = "local-model",
    key: str | None = None,
    calls: list[CallUsage] | None = None,
    **settings: Any,
) -> LLMClient:
    if flavour is None:
        base = fake + "/v1"
    elif flavour == "openrouter":
        base = fake + "/flavour/openrouter/api/v1"
    else:
        base = f"{fake}/flavour/{flavour}/v1"
    cfg = ProviderConfig(
        provider=provider,  # type: ignore[arg-type]
        model=model,
        base_url=settings.pop("base_url", base),
        api_keys=(key or f"key-{uuid.uuid4().hex}",),
        **settings,
    )
    return LLMClient(
        cfg,
        http,  # type: ignore[arg-type]
        limiter=InProcessRateLimiter(),
        backoff_base_s=0.01,
        backoff_cap_s=0.05,
        on_call=calls.append if calls is not None else None,
    )


# --- structured output on every server -------------------------------------------------------


async def test_llama_cpp_python_falls_back_from_its_500_to_json_object_with_the_schema(
    fake: str, http: AiohttpTransport
) -> None:
    calls: list[CallUsage] = []
    model = f"llama-{uuid.uuid4().hex[:6]}"
    llm = client(fake, http, "llama-cpp-python", model=model, calls=calls)
    tag, prompt = tagged()
    response = await llm.generate(LLMRequest(prompt, schema=Names))
    assert isinstance(response.parsed, Names) and "Gregor" in response.parsed.names
    log = await sent(http, fake, tag)
    # one 500 recognised from its message (not retried six times as a server error), then
    # json_object carrying the schema, which that server enforces
    assert [r["outcome"] for r in log] == ["500", "ok"]
    assert [c.outcome for c in calls] == ["bad_request", "ok"]
    # remembered for this (endpoint, model): the next call goes straight to json_object
    tag, prompt = tagged()
    await client(fake, http, "llama-cpp-python", model=model).generate(
        LLMRequest(prompt, schema=Names)
    )
    assert [r["outcome"] for r in await sent(http, fake, tag)] == ["ok"]
    # another model behind the same endpoint still gets json_schema first
    other = client(fake, http, "llama-cpp-python", model=model + "-b")
    assert not other._provider.json_object_only()  # type: ignore[attr-defined]


def test_an_unrelated_400_does_not_switch_the_format() -> None:
    """OpenAI's real answer to an unsupported temperature says "Unsupported value": that is
    about a parameter, not the response format."""
    import httpx

    from folio_worker.llm.providers.base import AttemptFailed
    from folio_worker.llm.providers.openai import OpenAIProvider

    model = f"o-{uuid.uuid4().hex[:6]}"
    cfg = ProviderConfig(provider="openai", model=model, api_keys=("k",))
    provider = OpenAIProvider(cfg)
    sent_body = {"model": model, "response_format": {"type": "json_schema"}, "messages": []}
    request = httpx.Request("POST", "https://api.openai.com/v1/chat/completions", json=sent_body)
    error = {
        "error": {
            "message": "Unsupported value: 'temperature' does not support 0.3 with this model.",
            "type": "invalid_request_error",
            "param": "temperature",
            "code": "unsupported_value",
        }
    }
    with pytest.raises(AttemptFailed) as caught:
        provider.parse(
            LLMRequest("x", schema=Names), httpx.Response(400, json=error, request=request)
        )
    assert caught.value.outcome == "bad_request" and not caught.value.recoverable
    assert not provider.json_object_only()
    assert not FORMATS.json_object_only("https://api.openai.com/v1", model)


@pytest.mark.parametrize("flavour", ["llama-server", "vllm", "ollama", "openrouter", None])
async def test_json_schema_is_used_where_the_server_enforces_it(
    flavour: str | None, fake: str, http: AiohttpTransport
) -> None:
    llm = client(
        fake, http, flavour, provider="openrouter" if flavour == "openrouter" else "openai"
    )
    tag, prompt = tagged()
    response = await llm.generate(LLMRequest(prompt, schema=Names))
    assert isinstance(response.parsed, Names) and "Grete" in response.parsed.names
    [only] = await sent(http, fake, tag)
    assert only["outcome"] == "ok" and only["schema_name"] == "Names"


# --- reasoning models ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flavour", "model"),
    [
        ("vllm", "Qwen/Qwen3-8B"),  # no reasoning parser: <think> in the content
        ("ollama", "deepseek-r1:8b"),
        ("llama-cpp-python", "DeepSeek-R1-Distill-Qwen-7B"),
        ("llama-server", "qwq-32b"),  # reasoning_content
        ("openrouter", "deepseek/deepseek-r1"),  # reasoning, reasoning_tokens
        ("mistral", "magistral-small"),  # content parts
        (None, "o4-mini"),  # hidden, reasoning_tokens inside completion_tokens
    ],
)
async def test_reasoning_never_reaches_the_answer_and_is_counted_once(
    flavour: str | None, model: str, fake: str, http: AiohttpTransport
) -> None:
    llm = client(
        fake,
        http,
        flavour,
        model=model,
        provider="openrouter" if flavour == "openrouter" else "openai",
    )
    tag, prompt = tagged()
    response = await llm.generate(LLMRequest(prompt))
    [logged] = await sent(http, fake, tag)
    assert "<think>" not in response.text and "</think>" not in response.text
    assert "Okay, the user wants" not in response.text
    assert response.text == logged["output"]  # exactly the translation, nothing else
    usage = response.usage
    # output + thinking == the completion tokens the server billed: each token once
    billed = logged["completion_tokens"] + logged["thought_tokens"]
    assert usage.output_tokens + usage.thinking_tokens == billed
    assert usage.thinking_tokens > 0
    if flavour in (None, "openrouter"):  # the server said how many were reasoning
        assert usage.output_tokens == logged["completion_tokens"]
    else:  # reasoning in the text: its share is estimated from the stripped block
        assert abs(usage.output_tokens - logged["completion_tokens"]) <= 8


async def test_a_structured_answer_after_a_think_block_validates(
    fake: str, http: AiohttpTransport
) -> None:
    llm = client(fake, http, "vllm", model="Qwen/Qwen3-8B")
    _, prompt = tagged()
    response = await llm.generate(LLMRequest(prompt, schema=Names))
    assert isinstance(response.parsed, Names) and response.text.startswith("{")


# --- usage as reported ---------------------------------------------------------------------


@pytest.mark.parametrize("flavour", [None, "llama-server", "openrouter"])
async def test_cached_prompt_tokens_are_read_from_the_answer(
    flavour: str | None, fake: str, http: AiohttpTransport
) -> None:
    key = f"key-{uuid.uuid4().hex}"
    provider = "openrouter" if flavour == "openrouter" else "openai"
    constant = "Rules that are the same for every call of the job. " * 120
    first = await client(fake, http, flavour, key=key, provider=provider).generate(
        LLMRequest(constant + tagged()[1])
    )
    second = await client(fake, http, flavour, key=key, provider=provider).generate(
        LLMRequest(constant + tagged()[1])
    )
    assert first.usage.cached_input_tokens == 0
    assert second.usage.cached_input_tokens >= 1024
    assert second.usage.cached_input_tokens <= second.usage.input_tokens


async def test_ollama_silent_truncation_is_surfaced(fake: str, http: AiohttpTransport) -> None:
    calls: list[CallUsage] = []
    llm = client(fake, http, "ollama", model="llama3.2", calls=calls)
    _, prompt = tagged(text=SOURCE * 40)  # about 700 tokens; the fake's window is 256
    with pytest.raises(LLMBadRequest, match="context window") as caught:
        await llm.generate(LLMRequest(prompt))
    assert "OLLAMA_CONTEXT_LENGTH" in caught.value.reason
    assert len(calls) == 1  # not retried: the same prompt would be cut again


@pytest.mark.parametrize("flavour", ["llama-server", "vllm"])
async def test_a_prompt_beyond_the_context_window_is_a_clear_bad_request(
    flavour: str, fake: str, http: AiohttpTransport
) -> None:
    _, prompt = tagged(text=SOURCE * 300)
    with pytest.raises(LLMBadRequest, match="context window"):
        await client(fake, http, flavour).generate(LLMRequest(prompt))


# --- statuses as they are -------------------------------------------------------------------


async def test_openrouter_routes_only_to_providers_that_honour_the_schema(
    fake: str, http: AiohttpTransport
) -> None:
    # Without provider.require_parameters the fake routes to a provider that ignores
    # response_format: the answer would not validate.
    llm = client(fake, http, "openrouter", provider="openrouter", model="meta/llama-3")
    tag, prompt = tagged()
    response = await llm.generate(LLMRequest(prompt, schema=Names))
    assert isinstance(response.parsed, Names)
    assert [r["outcome"] for r in await sent(http, fake, tag)] == ["ok"]


async def test_openrouter_403_is_moderation_not_a_dead_key(
    fake: str, http: AiohttpTransport
) -> None:
    calls: list[CallUsage] = []
    llm = client(fake, http, "openrouter", provider="openrouter", calls=calls)
    _, prompt = tagged("[[fake:block-prompt*1]]")
    with pytest.raises(SafetyBlocked) as caught:
        await llm.generate(LLMRequest(prompt))
    assert caught.value.kind == "moderation" and caught.value.level == "prompt"
    # the key still works: the next (reframed) call goes through with it
    assert (await llm.generate(LLMRequest(prompt))).text
    assert [c.outcome for c in calls] == ["safety_prompt", "ok"]


@pytest.mark.parametrize(
    ("flavour", "provider", "status", "base"),
    [
        (None, "openai", "401 unauthorized", None),  # OpenAI: 401 invalid_api_key
        ("openrouter", "openrouter", "401 unauthorized", None),  # 403 is its moderation
        (None, "azure", "401 unauthorized", ""),  # "Access denied due to invalid ... key"
    ],
)
async def test_refused_keys_name_the_real_status(
    flavour: str | None,
    provider: str,
    status: str,
    base: str | None,
    fake: str,
    http: AiohttpTransport,
) -> None:
    key = f"invalid-{uuid.uuid4().hex}"
    settings = {} if base is None else {"base_url": fake + base}
    calls: list[CallUsage] = []
    llm = client(fake, http, flavour, provider=provider, key=key, calls=calls, **settings)
    tag, prompt = tagged()
    with pytest.raises(LLMAuthError) as caught:
        await llm.generate(LLMRequest(prompt))
    assert caught.value.reason.endswith(f"({status})")
    assert key not in caught.value.reason and key[-4:] not in caught.value.reason
    # the fake really answered 401 once: a refused key is not retried
    assert [r["outcome"] for r in await sent(http, fake, tag)] == ["401"]
    assert [c.outcome for c in calls] == ["auth"]


async def test_azure_deployment_with_api_key_header_and_version(
    fake: str, http: AiohttpTransport
) -> None:
    tag, prompt = tagged()
    calls: list[CallUsage] = []
    llm = client(fake, http, None, provider="azure", model="gpt4o-prod", base_url=fake, calls=calls)
    response = await llm.generate(LLMRequest(prompt, schema=Names))
    assert isinstance(response.parsed, Names)
    [logged] = await sent(http, fake, tag)
    # the deployment in the path names the model; the key came in the api-key header
    assert logged["model"] == "gpt4o-prod" and logged["outcome"] == "ok"
    # the v1 form (base URL ending in /openai/v1) and a version in the URL both work
    for base in (fake + "/openai/v1", fake + "?api-version=2025-01-01-preview"):
        v1 = client(fake, http, None, provider="azure", model="gpt4o-prod", base_url=base)
        assert (await v1.generate(LLMRequest(tagged()[1]))).text


async def test_azure_content_filter_is_a_safety_block(fake: str, http: AiohttpTransport) -> None:
    llm = client(fake, http, None, provider="azure", model="gpt4o", base_url=fake)
    with pytest.raises(SafetyBlocked) as caught:
        await llm.generate(LLMRequest(tagged("[[fake:block-prompt]]")[1]))
    assert caught.value.kind == "moderation"


async def test_short_dummy_keys_never_mangle_messages(
    fake: str, http: AiohttpTransport, caplog: pytest.LogCaptureFixture
) -> None:
    """Local servers are run with keys like "x": redaction must not eat letters."""
    caplog.set_level(logging.WARNING)
    llm = client(fake, http, "vllm", key="to")
    _, prompt = tagged(text=SOURCE * 300)  # beyond the window: a message about tokens
    with pytest.raises(LLMBadRequest) as caught:
        await llm.generate(LLMRequest(prompt))
    assert "tokens" in caught.value.reason and "[redacted]" not in caught.value.reason
