"""Pure pieces of the LLM client: schema dialects, JSON extraction, error mapping, key pool.

Error mapping is checked on provider-shaped responses the fake does not produce (OpenRouter's
errors inside a 200, ``retry-after-ms``, RECITATION, context-length 400s...).
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, Literal

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from folio.contracts.providers import ProviderConfig
from folio_worker.llm import LLMAuthError, LLMBadRequest, LLMClient, LLMDeferred, LLMRequest
from folio_worker.llm.keys import Credential, KeyPool, release_spread
from folio_worker.llm.providers.base import AttemptFailed, header_retry_after, redact
from folio_worker.llm.providers.gemini import generate_body, parse_generate, thinking_allowance
from folio_worker.llm.providers.openai import OpenAIProvider
from folio_worker.llm.providers.schemas import (
    SchemaError,
    gemini_schema,
    inline_refs,
    openai_schema,
)
from folio_worker.llm.ratelimit import InProcessRateLimiter
from folio_worker.llm.structured import parse_structured, strip_fence


class Register(Enum):
    PLAIN = "plain"
    FORMAL = "formal"


class Term(BaseModel):
    source: str = Field(description="the term as written")
    target: str
    kind: Literal["name", "place", "thing"]
    note: str | None = None
    weight: int = 1


class Sheet(BaseModel):
    terms: list[Term]
    style: Register
    main: Term | None = None
    tags: list[str] = []


class WithMap(BaseModel):
    renderings: dict[str, str]


class Node(BaseModel):
    name: str
    children: list[Node] = []


def walk(node: Any) -> list[dict[str, Any]]:
    """Every dict in a schema tree."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found += walk(value)
    elif isinstance(node, list):
        for value in node:
            found += walk(value)
    return found


# --- schemas ---------------------------------------------------------------------------------


def test_inline_refs_removes_every_reference() -> None:
    schema = inline_refs(Sheet.model_json_schema())
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text
    term = schema["properties"]["terms"]["items"]
    assert term["properties"]["kind"]["enum"] == ["name", "place", "thing"]


def test_openai_schema_is_strict_ready() -> None:
    schema, strict = openai_schema(Sheet)
    assert strict is True
    objects = [n for n in walk(schema) if n.get("type") == "object"]
    assert len(objects) == 3  # Sheet, Term (list items) and Term (main)
    for node in objects:
        assert node["additionalProperties"] is False
        assert node["required"] == list(node["properties"])
    assert all("default" not in n and "$ref" not in n for n in walk(schema))
    main = schema["properties"]["main"]
    assert {"type": "null"} in main["anyOf"]  # optional stays nullable, now required


def test_openai_schema_with_maps_is_sent_non_strict() -> None:
    schema, strict = openai_schema(WithMap)
    assert strict is False
    assert schema["properties"]["renderings"]["additionalProperties"] == {"type": "string"}


def test_gemini_schema_is_the_openapi_subset() -> None:
    schema = gemini_schema(Sheet)
    assert schema["type"] == "OBJECT"
    assert schema["propertyOrdering"] == ["terms", "style", "main", "tags"]
    assert schema["required"] == ["terms", "style"]
    term = schema["properties"]["terms"]["items"]
    assert term["type"] == "OBJECT" and term["properties"]["weight"]["type"] == "INTEGER"
    assert term["properties"]["kind"] == {
        "type": "STRING",
        "format": "enum",
        "enum": ["name", "place", "thing"],
    }
    assert term["properties"]["note"] == {"type": "STRING", "nullable": True}
    assert term["properties"]["source"]["description"] == "the term as written"
    assert schema["properties"]["main"]["nullable"] is True
    assert schema["properties"]["main"]["type"] == "OBJECT"
    assert schema["properties"]["style"]["enum"] == ["plain", "formal"]
    forbidden = {"title", "default", "additionalProperties", "$defs", "$ref", "anyOf"}
    assert all(not forbidden & set(n) for n in walk(schema) if "type" in n)
    assert all(n["type"].isupper() for n in walk(schema) if isinstance(n.get("type"), str))


async def test_recursive_models_are_refused_as_a_bad_request() -> None:
    with pytest.raises(SchemaError):
        gemini_schema(Node)
    cfg = ProviderConfig(provider="gemini", model="gemini-2.5-flash", api_keys=("k",))
    async with httpx.AsyncClient() as http:
        client = LLMClient(cfg, http, limiter=InProcessRateLimiter())
        with pytest.raises(LLMBadRequest, match="recursive"):  # before any request is sent
            await client.generate(LLMRequest("x", schema=Node))


def test_gemini_body_settings() -> None:
    cfg = ProviderConfig(provider="gemini", model="gemini-3-pro-preview", api_keys=("k",))
    body = generate_body(cfg, LLMRequest("hi", system="sys", temperature=0.3))
    assert body["systemInstruction"] == {"parts": [{"text": "sys"}]}
    assert {s["threshold"] for s in body["safetySettings"]} == {"BLOCK_NONE"}
    assert len(body["safetySettings"]) == 4
    assert body["generationConfig"] == {
        "temperature": 0.3,
        "thinkingConfig": {"thinkingLevel": "low"},
    }


@pytest.mark.parametrize(
    ("model", "settings", "expected"),
    [
        # 2.5 takes a budget: off by default on Flash and Flash-Lite, the minimum on Pro
        ("gemini-2.5-flash", {}, {"thinkingBudget": 0}),
        ("gemini-2.5-flash-lite", {}, {"thinkingBudget": 0}),
        ("gemini-2.5-pro", {}, {"thinkingBudget": 128}),
        ("gemini-2.5-flash", {"thinking_budget": 2048}, {"thinkingBudget": 2048}),
        ("gemini-2.5-flash", {"thinking_budget": -1}, {"thinkingBudget": -1}),
        ("gemini-2.5-flash", {"thinking_level": "medium"}, {"thinkingBudget": 8192}),
        ("gemini-2.5-pro", {"thinking_level": "minimal"}, {"thinkingBudget": 128}),
        # 3.x (3.1 included) takes a level, "low" unless the job chose one
        ("gemini-3-flash-preview", {}, {"thinkingLevel": "low"}),
        ("gemini-3.1-pro-preview", {}, {"thinkingLevel": "low"}),
        (
            "gemini-3.1-flash-lite-preview",
            {"thinking_level": "minimal"},
            {"thinkingLevel": "minimal"},
        ),
        ("gemini-3.1-pro-preview", {"thinking_level": "medium"}, {"thinkingLevel": "medium"}),
        # an alias: whatever the model it names defaults to
        ("gemini-flash-lite-latest", {}, None),
        ("gemini-2.0-flash", {}, None),
    ],
)
def test_gemini_thinking_config_per_model(
    model: str, settings: dict[str, Any], expected: dict[str, Any] | None
) -> None:
    cfg = ProviderConfig(provider="gemini", model=model, api_keys=("k",), **settings)
    assert (
        generate_body(cfg, LLMRequest("hi")).get("generationConfig", {}).get("thinkingConfig")
        == expected
    )


def test_thinking_settings_are_checked_against_the_model() -> None:
    with pytest.raises(ValueError, match="low or high"):
        ProviderConfig(
            provider="gemini",
            model="gemini-3-pro-preview",
            api_keys=("k",),
            thinking_level="medium",
        )
    with pytest.raises(ValueError, match=r"2\.5"):
        ProviderConfig(
            provider="gemini", model="gemini-3-flash-preview", api_keys=("k",), thinking_budget=64
        )
    with pytest.raises(ValueError, match="cannot turn thinking off"):
        ProviderConfig(
            provider="gemini", model="gemini-2.5-pro", api_keys=("k",), thinking_budget=0
        )


def test_thinking_tokens_are_estimated_from_the_thinking_config() -> None:
    def allowance(model: str, **settings: Any) -> int:
        cfg = ProviderConfig(provider="gemini", model=model, api_keys=("k",), **settings)
        return thinking_allowance(cfg, 1000)

    assert allowance("gemini-2.5-flash") == 0
    assert allowance("gemini-2.5-flash", thinking_budget=300) == 300
    assert allowance("gemini-2.5-pro") == 128
    assert allowance("gemini-3-flash-preview") == 250
    assert allowance("gemini-3.1-pro-preview", thinking_level="high") == 1000


# --- structured answers ----------------------------------------------------------------------


def test_strip_fence() -> None:
    assert strip_fence('```json\n{"a": 1}\n```') == '{"a": 1}'
    assert strip_fence('```\n{"a": 1}```') == '{"a": 1}'
    assert strip_fence('  {"a": 1} ') == '{"a": 1}'


def test_parse_structured_finds_json_in_prose() -> None:
    term, text = parse_structured(
        'Here it is: {"source": "Gregor", "target": "그레고르", "kind": "name"} Done.', Term
    )
    assert term.target == "그레고르" and text.startswith("{")
    with pytest.raises(ValueError):
        parse_structured('{"source": "Gregor"', Term)
    with pytest.raises(ValueError):
        parse_structured('{"source": "Gregor", "target": "x", "kind": "verb"}', Term)


@given(
    st.builds(
        Term,
        source=st.text(),
        target=st.text(),
        kind=st.sampled_from(["name", "place", "thing"]),
        note=st.none() | st.text(),
    ),
    st.sampled_from(["{}", "```json\n{}\n```", "```\n{}\n```", "\n {} \n"]),
)
def test_parse_structured_round_trips_fenced_json(term: Term, wrapper: str) -> None:
    answer = wrapper.replace("{}", term.model_dump_json())
    parsed, _ = parse_structured(answer, Term)
    assert parsed == term


# --- provider error mapping ------------------------------------------------------------------


def response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("POST", "http://provider.test/", json={"response_format": None})
    return httpx.Response(status, json=body, headers=headers, request=request)


def openai_parse(resp: httpx.Response) -> Any:
    cfg = ProviderConfig(provider="openai", model="m", api_keys=("sk-secretsecret123",))
    return OpenAIProvider(cfg).parse(LLMRequest("x"), resp)


def failure_of(parse: Any, resp: httpx.Response) -> AttemptFailed:
    with pytest.raises(AttemptFailed) as caught:
        parse(resp)
    return caught.value


def test_openai_error_mapping() -> None:
    long = failure_of(
        openai_parse,
        response(
            400, {"error": {"message": "maximum context length is 8192 tokens", "code": None}}
        ),
    )
    assert long.outcome == "bad_request" and "maximum context length" in long.detail
    echoed = failure_of(
        openai_parse,
        response(401, {"error": {"message": "Incorrect API key provided: sk-secretsecret123"}}),
    )
    assert echoed.outcome == "auth" and "secret" not in echoed.detail
    policy = failure_of(
        openai_parse, response(400, {"error": {"message": "x", "code": "content_filter"}})
    )
    assert policy.outcome == "safety_prompt"
    in_200 = failure_of(openai_parse, response(200, {"error": {"code": 502, "message": "up"}}))
    assert in_200.outcome == "5xx"
    throttled = failure_of(
        openai_parse, response(429, {"error": {}}, {"retry-after-ms": "1500", "retry-after": "1"})
    )
    assert throttled.outcome == "429" and throttled.retry_after_s == 1.5
    refusal = {
        "choices": [{"message": {"content": None, "refusal": "no"}, "finish_reason": "stop"}]
    }
    assert failure_of(openai_parse, response(200, refusal)).outcome == "safety_candidate"


def gemini_parse(resp: httpx.Response) -> Any:
    return parse_generate(resp, ("AIzaSySecretSecret",))


def test_gemini_error_mapping() -> None:
    retry_info = {
        "error": {
            "code": 429,
            "status": "RESOURCE_EXHAUSTED",
            "message": "quota",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.5s"}
            ],
        }
    }
    throttled = failure_of(gemini_parse, response(429, retry_info))
    assert throttled.outcome == "429" and throttled.retry_after_s == 2.5
    bad_key = {
        "error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "API key not valid."}
    }
    assert failure_of(gemini_parse, response(400, bad_key)).outcome == "auth"
    other = {
        "error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "key AIzaSySecretSecret"}
    }
    bad = failure_of(gemini_parse, response(400, other))
    assert bad.outcome == "bad_request" and "Secret" not in bad.detail
    recitation = {
        "candidates": [{"finishReason": "RECITATION", "content": {"parts": [{"text": "a"}]}}]
    }
    assert failure_of(gemini_parse, response(200, recitation)).outcome == "recitation"
    thoughts = {
        "candidates": [
            {
                "finishReason": "STOP",
                "content": {"parts": [{"text": "plan", "thought": True}, {"text": "answer"}]},
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 3,
            "candidatesTokenCount": 1,
            "thoughtsTokenCount": 9,
        },
    }
    answer = gemini_parse(response(200, thoughts))
    assert answer.text == "answer" and answer.tokens.thinking == 9


def test_retry_after_header_forms() -> None:
    assert header_retry_after(httpx.Headers({"retry-after": "3"})) == 3.0
    assert header_retry_after(httpx.Headers({"retry-after-ms": "250"})) == 0.25
    assert header_retry_after(httpx.Headers({})) is None
    dated = header_retry_after(httpx.Headers({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    assert dated == 0.0


def test_redact() -> None:
    text = "bad key sk-proj-abcdefgh and AIzaSyABCDEFGHIJ and Bearer ya29.tok and mine-123"
    cleaned = redact(text, ["mine-123"])
    for leaked in ("sk-proj", "AIzaSy", "ya29", "mine-123"):
        assert leaked not in cleaned


# --- key pool --------------------------------------------------------------------------------


def creds(*names: str) -> list[Credential]:
    return [Credential(name, f"secret-{name}") for name in names]


async def test_key_pool_rotates_and_skips_resting_keys() -> None:
    pool = KeyPool(creds("a", "b", "c"))
    assert [(await pool.acquire()).id for _ in range(4)] == ["a", "b", "c", "a"]
    pool.throttled(Credential("b", "secret-b"), 60)
    assert [(await pool.acquire()).id for _ in range(3)] == ["c", "a", "c"]
    pool.refuse(Credential("c", "secret-c"))
    assert [(await pool.acquire()).id for _ in range(2)] == ["a", "a"]


async def test_key_pool_waits_for_the_first_key_ready(virtual_time) -> None:
    pool = KeyPool(creds("a", "b"), clock=virtual_time.clock, sleep=virtual_time.sleep)
    pool.throttled(Credential("a", "secret-a"), 3.0)
    pool.throttled(Credential("b", "secret-b"), 0.15)
    [picked] = await virtual_time.run(pool.acquire())
    assert picked.id == "b"
    # One wait: the rest of "b" (the shorter one), then at most its release spread.
    [waited] = virtual_time.sleeps
    assert 0.15 <= waited <= 0.15 + release_spread(0.15)
    assert virtual_time.now < 3.0  # "a" was never waited for


async def test_waiters_are_released_over_a_spread_after_a_cool_down(virtual_time) -> None:
    """After a 429's rest, the callers that waited go one by one, not in one burst."""
    pool = KeyPool(creds("a"), clock=virtual_time.clock, sleep=virtual_time.sleep)
    pool.throttled(Credential("a", "secret-a"), 0.4)

    async def one() -> float:
        await pool.acquire()
        return virtual_time.now

    released = sorted(await virtual_time.run(*(one() for _ in range(20))))
    assert len(virtual_time.sleeps) == 20  # each waited once, none spun
    assert released[0] >= 0.4  # nobody before the rest is over
    assert released[-1] - released[0] > 0.05  # spread out, not all at once
    assert released[-1] <= 0.4 + release_spread(0.4)


async def test_a_wait_beyond_the_allowed_one_defers_instead() -> None:
    pool = KeyPool(creds("a", "b"))
    pool.throttled(Credential("a", "secret-a"), 120.0)
    pool.throttled(Credential("b", "secret-b"), 90.0)
    with pytest.raises(LLMDeferred) as caught:
        await pool.acquire(max_wait_s=60.0)
    assert 89.0 <= caught.value.retry_after_s <= 90.0


async def test_key_pool_without_retry_after_backs_off_exponentially() -> None:
    pool = KeyPool(creds("a"), backoff_base_s=1.0, backoff_cap_s=8.0)
    rests = []
    for _ in range(5):
        rests.append(pool.throttled(Credential("a", "secret-a"), None))
        pool._keys[0].cooldown_until = 0.0  # as if the rest had passed
    assert 0.5 <= rests[0] <= 1.0 and 4.0 <= rests[3] <= 8.0 and rests[4] <= 8.0


async def test_key_pool_all_refused() -> None:
    pool = KeyPool(creds("a", "b"), refused_reason="every API key was refused (403)")
    for name in ("a", "b"):
        pool.refuse(Credential(name, f"secret-{name}"))
    with pytest.raises(LLMAuthError, match=r"every API key was refused \(403\)"):
        await pool.acquire()


def test_credential_repr_hides_the_secret() -> None:
    assert "secret" not in repr(Credential("id1", "secret-value"))


def test_gemini_sends_models_with_maps_as_json_schema() -> None:
    cfg = ProviderConfig(provider="gemini", model="gemini-2.5-flash", api_keys=("k",))
    config_ = generate_body(cfg, LLMRequest("x", schema=WithMap))["generationConfig"]
    assert "responseSchema" not in config_
    assert config_["responseJsonSchema"]["properties"]["renderings"]["type"] == "object"
    config_ = generate_body(cfg, LLMRequest("x", schema=Sheet))["generationConfig"]
    assert config_["responseSchema"]["type"] == "OBJECT" and "responseJsonSchema" not in config_


# --- reasoning preambles and redaction ---------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "answer", "reasoning"),
    [
        ("<think>\nplan it\n</think>\n\n번역문", "번역문", "\nplan it\n"),
        ("  <Thinking>x</Thinking>answer", "answer", "x"),
        ("plan it first</think>\n\nanswer", "answer", "plan it first"),  # template opened it
        ("<think>cut while thinking", "", "cut while thinking"),
        ("<think></think>\n\nanswer", "answer", ""),
        (
            "An answer that mentions <think> tags later.",
            "An answer that mentions <think> tags later.",
            "",
        ),
        ("plain answer", "plain answer", ""),
    ],
)
def test_split_reasoning(raw: str, answer: str, reasoning: str) -> None:
    from folio_worker.llm.reasoning import split_reasoning

    assert split_reasoning(raw) == (answer, reasoning)


def test_redaction_of_short_keys_never_corrupts_words() -> None:
    message = "You requested 5000 tokens; key x is not valid for model x-large (to tokens)"
    cleaned = redact(message, ["x", "to"])
    assert "tokens" in cleaned and "x-large" in cleaned
    assert "key [redacted] is" in cleaned and "([redacted] tokens)" in cleaned
    long_key = "local-secret-key-123456"
    assert long_key not in redact(f"bad key:{long_key}.", [long_key])
