"""Compatibility with the vendors' own SDKs, when they are installed (skipped otherwise).

The fake is only useful if real client libraries accept its answers; these tests drive the
OpenAI SDK and google-genai (API key and Vertex service-account flows) against the real
server process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from folio_fakellm.pseudo import pseudo_translate

SOURCE = "<source>Gregor Samsa met Grete in Prague. Then Gregor slept.</source>"


class Term(BaseModel):
    term: str
    translation: str


class Terms(BaseModel):
    terms: list[Term]


@pytest.fixture(scope="module")
def base_url(spawn_server: Callable[[dict[str, str]], str]) -> str:
    return spawn_server({})


def test_openai_sdk(base_url: str) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk-x", max_retries=0)
    r = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": SOURCE}]
    )
    assert r.choices[0].message.content == pseudo_translate(
        "Gregor Samsa met Grete in Prague. Then Gregor slept.", "ko"
    )
    assert r.usage is not None and r.usage.total_tokens > 0
    parsed = client.chat.completions.parse(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": SOURCE}],
        response_format=Terms,
    )
    terms = parsed.choices[0].message.parsed
    assert terms is not None
    listed = [t.term for t in terms.terms]
    assert listed[:4] == ["Gregor", "Samsa", "Grete", "Prague"]
    assert set(listed[4:]) <= {"Gregor Samsa", "Then", "Then Gregor"}  # as real models do
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": SOURCE + "[[fake:429:retry=2]]"}],
        )
    assert info.value.response.headers["retry-after"] == "2"


def test_google_genai_sdk_api_key(base_url: str) -> None:
    genai = pytest.importorskip("google.genai")
    types = pytest.importorskip("google.genai.types")
    client = genai.Client(api_key="AIza-x", http_options=types.HttpOptions(base_url=base_url))
    config = types.GenerateContentConfig(
        response_mime_type="application/json",
        response_schema=Terms,
        thinking_config=types.ThinkingConfig(thinking_budget=512),
        system_instruction="<target_language>ja</target_language>",
    )
    r = client.models.generate_content(model="gemini-2.5-flash", contents=SOURCE, config=config)
    assert isinstance(r.parsed, Terms)
    assert r.parsed.terms[0].translation == pseudo_translate("Gregor", "ja")
    assert r.usage_metadata is not None and (r.usage_metadata.thoughts_token_count or 0) > 0
    blocked = client.models.generate_content(
        model="gemini-2.5-flash", contents=SOURCE + "[[fake:block-prompt]]"
    )
    assert blocked.prompt_feedback is not None
    assert str(blocked.prompt_feedback.block_reason.value) == "PROHIBITED_CONTENT"
    with pytest.raises(genai.errors.APIError) as info:
        client.models.generate_content(model="gemini-2.5-flash", contents=SOURCE + "[[fake:503]]")
    assert info.value.code == 503


def test_google_genai_sdk_vertex_service_account(base_url: str) -> None:
    genai = pytest.importorskip("google.genai")
    types = pytest.importorskip("google.genai.types")
    service_account = pytest.importorskip("google.oauth2.service_account")
    rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info: dict[str, Any] = {
        "type": "service_account",
        "project_id": "p1",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "sa@p1.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": f"{base_url}/token",
    }
    creds = service_account.Credentials.from_service_account_info(
        info, scopes=["https://www.googleapis.com/auth/cloud-platform"]
    )
    client = genai.Client(
        vertexai=True,
        project="p1",
        location="europe-west4",
        credentials=creds,
        http_options=types.HttpOptions(base_url=base_url),
    )
    r = client.models.generate_content(model="gemini-2.5-flash", contents=SOURCE)
    assert r.text == pseudo_translate("Gregor Samsa met Grete in Prague. Then Gregor slept.", "ko")


def test_anthropic_sdk(base_url: str) -> None:
    anthropic = pytest.importorskip("anthropic")
    client = anthropic.Anthropic(base_url=base_url, api_key="sk-ant-x", max_retries=0)
    text = client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=256,
        system="Translate.",
        messages=[{"role": "user", "content": SOURCE}],
    )
    assert text.stop_reason == "end_turn"
    assert text.content[0].text == pseudo_translate(
        "Gregor Samsa met Grete in Prague. Then Gregor slept.", "ko"
    )
    assert text.usage.input_tokens > 0 and text.usage.output_tokens > 0
    tool = client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=512,
        messages=[{"role": "user", "content": SOURCE}],
        tools=[
            {"name": "Terms", "description": "terms", "input_schema": Terms.model_json_schema()}
        ],
        tool_choice={"type": "tool", "name": "Terms"},
    )
    assert tool.stop_reason == "tool_use"
    [block] = tool.content
    terms = Terms.model_validate(block.input)
    assert [t.term for t in terms.terms][:2] == ["Gregor", "Samsa"]
    with pytest.raises(anthropic.RateLimitError) as info:
        client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=64,
            messages=[{"role": "user", "content": SOURCE + "[[fake:429:retry=2]]"}],
        )
    assert info.value.response.headers["retry-after"] == "2"
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=base_url, api_key="invalid", max_retries=0).messages.create(
            model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )


def test_openai_sdk_reads_reasoning_and_cache_usage(base_url: str) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk-x", max_retries=0)
    r = client.chat.completions.create(
        model="o4-mini", messages=[{"role": "user", "content": SOURCE}]
    )
    assert r.usage is not None and r.usage.completion_tokens_details is not None
    assert r.usage.completion_tokens_details.reasoning_tokens > 0
    assert r.usage.prompt_tokens_details is not None
    assert r.usage.prompt_tokens_details.cached_tokens == 0
    azure = openai.AzureOpenAI(
        azure_endpoint=base_url, api_key="k", api_version="2024-10-21", max_retries=0
    )
    answer = azure.chat.completions.create(
        model="my-deployment", messages=[{"role": "user", "content": SOURCE}]
    )
    assert answer.choices[0].message.content
