"""The OpenAI-compatible client against the fake LLM server over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from folio_worker.llm import LLMError, OpenAICompatibleClient, PermanentLLMError


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


def client(http, url, key="test-key", attempts=4) -> OpenAICompatibleClient:
    return OpenAICompatibleClient(
        http, base_url=url + "/v1", api_key=key, model="fake-model", max_attempts=attempts
    )


async def test_completion_with_usage(http, fake_llm_url):
    result = await client(http, fake_llm_url).complete("<source>Gregor woke.</source>")
    assert result.text and "Gregor" not in result.text
    assert result.finish_reason == "stop"
    assert result.usage.calls == 1 and result.usage.input_tokens > 0


async def test_429_is_retried_after_retry_after(http, fake_llm_url):
    result = await client(http, fake_llm_url).complete(
        "<source>Retry me [[fake:429:retry=0.2*2]]</source>"
    )
    assert result.text


async def test_permanent_errors_are_not_retried(http, fake_llm_url):
    with pytest.raises(PermanentLLMError):
        await client(http, fake_llm_url, key="invalid-key").complete("<source>x</source>")


async def test_persistent_server_errors_give_up_after_the_bound(http, fake_llm_url):
    with pytest.raises(LLMError, match="after 2 attempts"):
        await client(http, fake_llm_url, attempts=2).complete("<source>x [[fake:500]]</source>")
