"""A refused key, answered as Gemini and Anthropic really answer it, over real HTTP.

Google answers a wrong key 400 INVALID_ARGUMENT (reason API_KEY_INVALID) and a key it will
not serve 403 PERMISSION_DENIED; Anthropic answers 401 ``authentication_error`` and 403
``permission_error``. Each must end the call as a bad key at once: one request per key, no
retry, and a reason a user can act on that never shows the key.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from folio.contracts.providers import ProviderConfig
from folio_worker.llm import CallUsage, InProcessRateLimiter, LLMAuthError, LLMClient, LLMRequest
from folio_worker.llm.transport import AiohttpTransport

MODELS = {"gemini": "gemini-2.5-flash", "anthropic": "claude-haiku-4-5"}
LABELS = {"gemini": "Gemini API", "anthropic": "Anthropic API"}


def client(
    provider: str, url: str, http: AiohttpTransport, keys: tuple[str, ...], calls: list[CallUsage]
) -> LLMClient:
    cfg = ProviderConfig(provider=provider, model=MODELS[provider], base_url=url, api_keys=keys)
    return LLMClient(
        cfg,
        http,  # type: ignore[arg-type]
        limiter=InProcessRateLimiter(),
        backoff_base_s=0.01,
        backoff_cap_s=0.05,
        max_attempts=4,
        on_call=calls.append,
    )


async def sent(http: AiohttpTransport, url: str, tag: str) -> list[dict[str, Any]]:
    return [r for r in (await http.get(url + "/_fake/requests")).json() if tag in r["prompt"]]


@pytest.mark.parametrize(
    ("provider", "prefix", "detail"),
    [
        ("gemini", "invalid", "the key is not valid (400 API_KEY_INVALID)"),
        ("gemini", "denied", "the key was refused (403 forbidden)"),
        ("anthropic", "invalid", "the key was refused (401 unauthorized)"),
        ("anthropic", "denied", "the key was refused (403 forbidden)"),
    ],
)
async def test_a_refused_key_is_a_bad_key_not_retried(
    provider: str,
    prefix: str,
    detail: str,
    fake_llm_url: str,
    http: AiohttpTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    tag = f"keys-{uuid.uuid4().hex[:10]}"
    keys = (f"{prefix}-{uuid.uuid4().hex}", f"{prefix}-{uuid.uuid4().hex}")
    calls: list[CallUsage] = []
    llm = client(provider, fake_llm_url, http, keys, calls)
    prompt = f"Translate ({tag}).\n<target_language>ja</target_language><source>Hello.</source>"
    with pytest.raises(LLMAuthError) as caught:
        await llm.generate(LLMRequest(prompt))
    assert caught.value.reason == f"{LABELS[provider]} refused every key: {detail}"
    # One request per key, none retried: a refused key is not a transient failure.
    assert len(await sent(http, fake_llm_url, tag)) == len(keys)
    assert [c.outcome for c in calls] == ["auth", "auth"]
    with pytest.raises(LLMAuthError):  # remembered: no further requests
        await llm.generate(LLMRequest(prompt))
    assert len(await sent(http, fake_llm_url, tag)) == len(keys)
    for key in keys:
        assert key not in caught.value.reason
        assert key not in caplog.text
