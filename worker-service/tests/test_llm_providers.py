"""Each provider's wire protocol against the fake LLM server over real HTTP.

Plain text, structured output (nested models with lists, enums, Literals and Optionals),
safety blocks, truncation, thinking tokens, the Vertex service-account flow and the
OpenAI ``json_schema`` → ``json_object`` fallback.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Any, Literal

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel

from folio.contracts.providers import ProviderConfig, ServiceAccount, key_id
from folio_devstack.fakellm import running_fake_llm
from folio_worker.llm import (
    CallUsage,
    InProcessRateLimiter,
    LLMAuthError,
    LLMClient,
    LLMRequest,
    SafetyBlocked,
)
from folio_worker.llm.transport import AiohttpTransport

SOURCE = "Gregor Samsa woke in Prague. Gregor looked at Grete, and Grete smiled at Mr. Samsa."


class Tone(StrEnum):
    PLAIN = "plain"
    FORMAL = "formal"
    ARCHAIC = "archaic"


class Character(BaseModel):
    name: str
    translation: str
    gender: Literal["male", "female", "unknown"]
    aliases: list[str]
    note: str | None = None


class Glossary(BaseModel):
    characters: list[Character]
    tone: Tone
    summary: str
    chapter: int | None = None


@pytest.fixture(scope="module")
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(params=["httpx", "aiohttp"])
async def http(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    """Every protocol test runs on plain httpx and on the worker's production transport."""
    if request.param == "aiohttp":
        transport = AiohttpTransport(timeout_s=30)
        yield transport  # type: ignore[misc]
        await transport.aclose()
        return
    async with httpx.AsyncClient() as client:
        yield client


def tagged(text: str = SOURCE, marker: str = "") -> tuple[str, str]:
    """A prompt carrying a unique tag (to find its requests in the shared fake's log)."""
    tag = f"run-{uuid.uuid4().hex[:10]}"
    return tag, f"Translate into Korean. ({tag}) {marker}\n<source>{text}</source>"


async def requests_with(http: httpx.AsyncClient, url: str, tag: str) -> list[dict[str, Any]]:
    log = (await http.get(url + "/_fake/requests")).json()
    return [entry for entry in log if tag in entry["prompt"]]


def config(kind: str, url: str, **overrides: Any) -> ProviderConfig:
    defaults: dict[str, Any] = {
        "openai": {"model": "gpt-4o-mini", "base_url": url + "/v1"},
        "gemini": {"model": "gemini-2.5-flash", "base_url": url},
    }[kind]
    keys = (f"key-{uuid.uuid4().hex}",)
    return ProviderConfig(**{"provider": kind, "api_keys": keys, **defaults, **overrides})


def vertex_config(url: str, pem: str, **overrides: Any) -> ProviderConfig:
    account = ServiceAccount(
        client_email=f"translator-{uuid.uuid4().hex[:6]}@folio-test.iam.gserviceaccount.com",
        private_key=pem,
        token_uri=url + "/token",
        project_id="folio-test",
    )
    values: dict[str, Any] = {
        "provider": "vertex",
        "model": "gemini-2.5-flash",
        "base_url": url,
        "service_account": account,
        "vertex_location": "europe-west4",
        **overrides,
    }
    return ProviderConfig(**values)


def client_for(cfg: ProviderConfig, http: httpx.AsyncClient, **kwargs: Any) -> LLMClient:
    kwargs.setdefault("backoff_base_s", 0.01)
    return LLMClient(cfg, http, limiter=InProcessRateLimiter(), **kwargs)


# --- plain text ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["openai", "gemini"])
async def test_plain_text_call(kind: str, http: httpx.AsyncClient, fake_llm_url: str) -> None:
    cfg = config(kind, fake_llm_url)
    calls: list[CallUsage] = []
    client = client_for(cfg, http, on_call=calls.append)
    tag, prompt = tagged()
    response = await client.generate(LLMRequest(prompt, system="You are a literary translator."))
    assert response.text and "Gregor" not in response.text
    assert response.finish == "stop" and response.parsed is None
    usage = response.usage
    assert usage.outcome == "ok" and usage.model == cfg.model
    assert usage.key_id == key_id(cfg.api_keys[0])
    assert usage.input_tokens > 0 and usage.output_tokens > 0 and usage.latency_ms > 0
    assert calls == [usage]
    [sent] = await requests_with(http, fake_llm_url, tag)
    endpoint = "openai.chat" if kind == "openai" else "gemini.generateContent"
    assert sent["endpoint"] == endpoint and sent["key_hash"] == usage.key_id
    assert "You are a literary translator." in sent["prompt"]  # the system instruction went out
    assert sent["completion_tokens"] == usage.output_tokens


async def test_vertex_plain_text_through_the_token_endpoint(
    http: httpx.AsyncClient, fake_llm_url: str, private_key_pem: str
) -> None:
    cfg = vertex_config(fake_llm_url, private_key_pem)
    client = client_for(cfg, http)
    before = (await http.get(fake_llm_url + "/_fake/stats")).json()["by_endpoint"]
    tag, prompt = tagged()
    first = await client.generate(LLMRequest(prompt, system="Translate."))
    second = await client.generate(LLMRequest(prompt + " again"))
    assert first.text and second.text and first.finish == "stop"
    assert first.usage.key_id == key_id(cfg.service_account.client_email)  # type: ignore[union-attr]
    after = (await http.get(fake_llm_url + "/_fake/stats")).json()["by_endpoint"]
    # one token for both calls (cached), both calls on the Vertex endpoint
    assert after.get("oauth.token", 0) - before.get("oauth.token", 0) == 1
    sent = await requests_with(http, fake_llm_url, tag)
    assert [s["endpoint"] for s in sent] == ["vertex.generateContent"] * 2
    assert all(s["outcome"] == "ok" for s in sent)


async def test_vertex_stale_token_is_refreshed_once(
    http: httpx.AsyncClient, fake_llm_url: str, private_key_pem: str
) -> None:
    calls: list[CallUsage] = []
    client = client_for(vertex_config(fake_llm_url, private_key_pem), http, on_call=calls.append)
    await client.generate(LLMRequest(tagged()[1]))
    # The provider revoked the cached token (white-box: make the cache hold a dead one).
    client._provider._tokens._token = "fake-vertex-revoked"  # type: ignore[attr-defined]
    tag, prompt = tagged()
    response = await client.generate(LLMRequest(prompt))
    assert response.text
    assert [c.outcome for c in calls] == ["ok", "auth", "ok"]
    assert [s["outcome"] for s in await requests_with(http, fake_llm_url, tag)] == ["401", "ok"]


async def test_vertex_token_endpoint_refusal_is_an_auth_error(
    http: httpx.AsyncClient, fake_llm_url: str, private_key_pem: str
) -> None:
    cfg = vertex_config(fake_llm_url, private_key_pem)
    account = cfg.service_account.model_copy(  # type: ignore[union-attr]
        update={"token_uri": fake_llm_url + "/no-such-token-endpoint"}
    )
    client = client_for(cfg.model_copy(update={"service_account": account}), http)
    with pytest.raises(LLMAuthError, match="token endpoint") as caught:
        await client.generate(LLMRequest(tagged()[1]))
    assert private_key_pem not in caught.value.reason


async def test_vertex_default_base_url_follows_the_location(private_key_pem: str) -> None:
    from folio_worker.llm.providers.vertex import VertexProvider

    async with httpx.AsyncClient() as http:
        for location, host in [
            ("global", "https://aiplatform.googleapis.com/"),
            ("us-central1", "https://us-central1-aiplatform.googleapis.com/"),
        ]:
            cfg = vertex_config("http://unused", private_key_pem, base_url=None)
            cfg = cfg.model_copy(update={"vertex_location": location})
            url = VertexProvider(cfg, http, 10)._url
            assert url.startswith(host + f"v1/projects/folio-test/locations/{location}/")
            assert url.endswith("/publishers/google/models/gemini-2.5-flash:generateContent")


# --- structured output -----------------------------------------------------------------------


def check_glossary(parsed: BaseModel | None) -> Glossary:
    assert isinstance(parsed, Glossary)
    names = [c.name for c in parsed.characters]
    assert "Gregor" in names and "Grete" in names
    assert all(c.translation and c.translation != c.name for c in parsed.characters)
    assert isinstance(parsed.tone, Tone)
    return parsed


@pytest.mark.parametrize("kind", ["openai", "gemini", "vertex"])
async def test_structured_output_validates_a_nested_model(
    kind: str, http: httpx.AsyncClient, fake_llm_url: str, private_key_pem: str
) -> None:
    cfg = (
        vertex_config(fake_llm_url, private_key_pem)
        if kind == "vertex"
        else config(kind, fake_llm_url)
    )
    tag, prompt = tagged()
    response = await client_for(cfg, http).generate(LLMRequest(prompt, schema=Glossary))
    check_glossary(response.parsed)
    assert Glossary.model_validate_json(response.text) == response.parsed
    [sent] = await requests_with(http, fake_llm_url, tag)
    assert sent["structured"] is True and sent["outcome"] == "ok"
    if kind == "openai":
        assert sent["schema_name"] == "Glossary"  # sent as json_schema, not json_object
        assert "<json_schema>" not in sent["prompt"]


async def test_openai_falls_back_to_json_object_and_remembers_it(http: httpx.AsyncClient) -> None:
    async with running_fake_llm(FAKE_LLM_OPENAI_JSON_SCHEMA="false") as url:
        calls: list[CallUsage] = []
        client = client_for(config("openai", url), http, on_call=calls.append)
        tag, prompt = tagged()
        first = await client.generate(LLMRequest(prompt, schema=Glossary))
        check_glossary(first.parsed)
        assert [c.outcome for c in calls] == ["bad_request", "ok"]
        sent = await requests_with(http, url, tag)
        assert [s["outcome"] for s in sent] == ["400", "ok"]
        assert "<json_schema>" not in sent[0]["prompt"]  # the first try was json_schema
        assert "<json_schema>" in sent[1]["prompt"] and "</json_schema>" in sent[1]["prompt"]

        # A new client (another job) for the same base URL goes straight to json_object.
        other = client_for(config("openai", url), http)
        tag, prompt = tagged()
        second = await other.generate(LLMRequest(prompt, schema=Glossary))
        check_glossary(second.parsed)
        [only] = await requests_with(http, url, tag)
        assert only["outcome"] == "ok" and "<json_schema>" in only["prompt"]
        assert only["schema_name"] is None

        # Free-text calls are unaffected.
        tag, prompt = tagged()
        assert (await other.generate(LLMRequest(prompt))).text
        [plain] = await requests_with(http, url, tag)
        assert "<json_schema>" not in plain["prompt"] and plain["structured"] is False


@pytest.mark.parametrize("kind", ["openai", "gemini"])
async def test_a_cut_structured_answer_is_asked_again_with_a_larger_limit(
    kind: str, http: httpx.AsyncClient, fake_llm_url: str
) -> None:
    calls: list[CallUsage] = []
    client = client_for(config(kind, fake_llm_url), http, on_call=calls.append)
    tag, prompt = tagged()
    response = await client.generate(LLMRequest(prompt, schema=Glossary, max_output_tokens=20))
    check_glossary(response.parsed)
    # cut at 20 tokens, then answered whole with a larger limit (not resent as it was)
    assert [s["outcome"] for s in await requests_with(http, fake_llm_url, tag)] == [
        "max-tokens",
        "ok",
    ]
    assert [c.outcome for c in calls] == ["length", "ok"]


@pytest.mark.parametrize("kind", ["openai", "gemini"])
async def test_a_structured_answer_that_never_fits_asks_for_a_smaller_request(
    kind: str, http: httpx.AsyncClient, fake_llm_url: str
) -> None:
    from folio_worker.llm import LLMOutputTruncated

    calls: list[CallUsage] = []
    client = client_for(config(kind, fake_llm_url), http, max_attempts=6, on_call=calls.append)
    tag, prompt = tagged(marker="[[fake:truncate]]")
    with pytest.raises(LLMOutputTruncated, match="output limit"):
        await client.generate(LLMRequest(prompt, schema=Glossary))
    # the first answer, then two larger limits; never six identical attempts
    assert [c.outcome for c in calls] == ["length"] * 3
    assert len(await requests_with(http, fake_llm_url, tag)) == 3


# --- safety, truncation, thinking ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["openai", "gemini"])
@pytest.mark.parametrize("level", ["prompt", "candidate"])
async def test_safety_blocks_are_raised_at_once(
    kind: str, level: str, http: httpx.AsyncClient, fake_llm_url: str
) -> None:
    calls: list[CallUsage] = []
    client = client_for(config(kind, fake_llm_url), http, on_call=calls.append)
    tag, prompt = tagged(marker=f"[[fake:block-{level}]]")
    with pytest.raises(SafetyBlocked) as caught:
        await client.generate(LLMRequest(prompt))
    assert caught.value.level == level
    assert len(await requests_with(http, fake_llm_url, tag)) == 1  # not retried
    assert [c.outcome for c in calls] == [f"safety_{level}"]


@pytest.mark.parametrize("kind", ["openai", "gemini"])
async def test_truncated_answer_has_finish_length(
    kind: str, http: httpx.AsyncClient, fake_llm_url: str
) -> None:
    tag, prompt = tagged(marker="[[fake:truncate]]")
    response = await client_for(config(kind, fake_llm_url), http).generate(LLMRequest(prompt))
    [sent] = await requests_with(http, fake_llm_url, tag)
    assert response.finish == "length" and response.usage.outcome == "length"
    assert response.text and response.text == sent["output"]


async def test_max_output_tokens_is_sent(http: httpx.AsyncClient, fake_llm_url: str) -> None:
    for kind in ("openai", "gemini"):
        tag, prompt = tagged(SOURCE * 5)
        client = client_for(config(kind, fake_llm_url), http)
        response = await client.generate(LLMRequest(prompt, max_output_tokens=5))
        assert response.finish == "length" and response.usage.output_tokens <= 5
        [sent] = await requests_with(http, fake_llm_url, tag)
        assert sent["outcome"] == "max-tokens"


async def test_empty_answer_is_returned_as_is(http: httpx.AsyncClient, fake_llm_url: str) -> None:
    _, prompt = tagged(marker="[[fake:empty]]")
    response = await client_for(config("gemini", fake_llm_url), http).generate(LLMRequest(prompt))
    assert response.text == "" and response.finish == "stop"


async def test_gemini_3_reports_thinking_tokens(http: httpx.AsyncClient, fake_llm_url: str) -> None:
    default = client_for(config("gemini", fake_llm_url, model="gemini-3-flash-preview"), http)
    high = client_for(
        config("gemini", fake_llm_url, model="gemini-3-pro-preview", thinking_level="high"), http
    )
    older = client_for(config("gemini", fake_llm_url, model="gemini-2.5-flash"), http)
    low_usage = (await default.generate(LLMRequest(tagged()[1]))).usage
    high_usage = (await high.generate(LLMRequest(tagged()[1]))).usage
    older_usage = (await older.generate(LLMRequest(tagged()[1]))).usage
    assert low_usage.thinking_tokens > 0  # gemini-3 defaults to thinkingLevel "low"
    assert high_usage.thinking_tokens > low_usage.thinking_tokens
    assert older_usage.thinking_tokens == 0  # no thinkingConfig sent for 2.5


class Renderings(BaseModel):
    renderings: dict[str, str]


@pytest.mark.parametrize("kind", ["openai", "gemini"])
async def test_structured_output_with_a_map(
    kind: str, http: httpx.AsyncClient, fake_llm_url: str
) -> None:
    """Maps cannot be strict (OpenAI) nor OpenAPI-subset (Gemini): sent as plain JSON Schema."""
    tag, prompt = tagged()
    client = client_for(config(kind, fake_llm_url), http)
    response = await client.generate(LLMRequest(prompt, schema=Renderings))
    assert isinstance(response.parsed, Renderings)
    [sent] = await requests_with(http, fake_llm_url, tag)
    assert sent["structured"] is True and sent["outcome"] == "ok"


# --- Gemini finish reasons, each as what it is -----------------------------------------------


@pytest.mark.parametrize(
    ("finish", "kind", "rephrasable"),
    [
        ("SAFETY", "safety", True),
        ("PROHIBITED_CONTENT", "prohibited", False),
        ("SPII", "spii", False),
        ("BLOCKLIST", "blocklist", False),
    ],
)
async def test_gemini_blocking_finish_reasons(
    finish: str, kind: str, rephrasable: bool, http: httpx.AsyncClient, fake_llm_url: str
) -> None:
    tag, prompt = tagged(marker=f"[[fake:finish={finish}]]")
    with pytest.raises(SafetyBlocked) as caught:
        await client_for(config("gemini", fake_llm_url), http).generate(LLMRequest(prompt))
    assert caught.value.kind == kind and caught.value.rephrasable is rephrasable
    assert finish in caught.value.reason or kind == "safety"
    assert len(await requests_with(http, fake_llm_url, tag)) == 1  # never resent as it is


async def test_gemini_recitation_is_asked_again_more_freely(
    http: httpx.AsyncClient, fake_llm_url: str
) -> None:
    calls: list[CallUsage] = []
    (await http.post(fake_llm_url + "/_fake/reset")).raise_for_status()  # "*1" counters
    tag, prompt = tagged(marker="[[fake:finish=RECITATION*1]]")
    client = client_for(config("gemini", fake_llm_url), http, on_call=calls.append)
    assert (await client.generate(LLMRequest(prompt))).text
    assert [c.outcome for c in calls] == ["recitation", "ok"]
    # a recitation that persists becomes a block the engine can answer by rephrasing
    tag, prompt = tagged(marker="[[fake:finish=RECITATION]]")
    with pytest.raises(SafetyBlocked) as caught:
        await client.generate(LLMRequest(prompt))
    assert caught.value.kind == "recitation" and caught.value.rephrasable
    assert len(await requests_with(http, fake_llm_url, tag)) == 3


async def test_gemini_other_is_retried_and_language_is_a_bad_request(
    http: httpx.AsyncClient, fake_llm_url: str
) -> None:
    from folio_worker.llm import LLMBadRequest

    client = client_for(config("gemini", fake_llm_url), http)
    (await http.post(fake_llm_url + "/_fake/reset")).raise_for_status()  # "*1" counters
    tag, prompt = tagged(marker="[[fake:finish=OTHER*1]]")
    assert (await client.generate(LLMRequest(prompt))).text
    assert [s["outcome"] for s in await requests_with(http, fake_llm_url, tag)] == ["ok", "ok"]
    tag, prompt = tagged(marker="[[fake:finish=LANGUAGE]]")
    with pytest.raises(LLMBadRequest, match="language"):
        await client.generate(LLMRequest(prompt))
    assert len(await requests_with(http, fake_llm_url, tag)) == 1


async def test_gemini_cached_and_thinking_tokens_are_read(
    http: httpx.AsyncClient, fake_llm_url: str
) -> None:
    cfg = config("gemini", fake_llm_url, model="gemini-2.5-flash", thinking_budget=300)
    constant = "The same instructions for every call of this job. " * 120
    first = await client_for(cfg, http).generate(LLMRequest(constant + tagged()[1]))
    second = await client_for(cfg, http).generate(LLMRequest(constant + tagged()[1]))
    assert first.usage.cached_input_tokens == 0 and second.usage.cached_input_tokens >= 1024
    assert 0 < second.usage.thinking_tokens <= 300
