"""The provider names a job may ask for, as translation-service validates them."""

from __future__ import annotations

import pytest

from folio.errors import InvalidInput
from folio_translation.inputs import parse_provider


def parse(provider: str, **fields: object) -> object:
    values: dict[str, object] = {
        "api_provider": provider,
        "api_key": "k-123",
        "backup_api_keys": None,
        "model_name": None,
        "api_base_url": None,
        "requests_per_minute": None,
        "thinking_level": None,
        "provider_config": None,
        **fields,
    }
    return parse_provider(**values)  # type: ignore[arg-type]


def test_anthropic_azure_and_openrouter_are_their_own_providers() -> None:
    claude = parse("anthropic")
    assert claude.provider == "anthropic" and claude.model.startswith("claude-")  # type: ignore[attr-defined]
    azure = parse("azure", model_name="gpt4o-prod", api_base_url="https://r.openai.azure.com")
    assert (azure.provider, azure.model) == ("azure", "gpt4o-prod")  # type: ignore[attr-defined]
    routed = parse("openrouter")
    assert routed.provider == "openrouter"  # type: ignore[attr-defined]
    assert routed.base_url == "https://openrouter.ai/api/v1"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"api_base_url": "https://r.openai.azure.com"}, "model"),  # the deployment's name
        ({"model_name": "gpt4o"}, "resource endpoint"),
    ],
)
def test_azure_needs_its_deployment_and_endpoint(fields: dict[str, object], detail: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse("azure", **fields)
    assert detail in caught.value.detail
