"""Which model a job uses and with which credentials (bring-your-own keys).

The same model validates what a user submits (translation-service answers 422 with the
reason) and configures the worker's client. It only ever travels sealed (see
:mod:`folio.credentials`): keys never appear in clear in a message, a row or a log.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# ``openai`` is any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp, …);
# ``openrouter`` and ``azure`` speak the same protocol with their own routing, auth and
# errors; ``anthropic`` is the Messages API.
ProviderKind = Literal["openai", "openrouter", "azure", "gemini", "vertex", "anthropic"]
ThinkingLevel = Literal["minimal", "low", "medium", "high"]
# Azure OpenAI's GA data-plane version used when the base URL names none.
AZURE_DEFAULT_API_VERSION = "2024-10-21"


def key_id(secret: str) -> str:
    """A stable, non-reversible handle for a key, safe to log and store."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


class ServiceAccount(BaseModel):
    """A Google service account key (the JSON file), for Vertex AI."""

    model_config = ConfigDict(extra="allow", frozen=True)

    client_email: str
    private_key: str
    token_uri: str = "https://oauth2.googleapis.com/token"
    project_id: str | None = None

    @field_validator("private_key")
    @classmethod
    def _pem(cls, value: str) -> str:
        if "BEGIN PRIVATE KEY" not in value:
            raise ValueError("private_key must be a PEM private key")
        return value


class ProviderConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider: ProviderKind = "gemini"
    model: str = Field(min_length=1, max_length=200)
    base_url: str | None = Field(default=None, max_length=500)
    api_keys: tuple[str, ...] = ()
    requests_per_minute: int | None = Field(default=None, ge=1, le=100_000)
    # The key's token quota (input + output per minute): calls are paced to it as well.
    tokens_per_minute: int | None = Field(default=None, ge=100, le=1_000_000_000)
    # At most this many calls at once per key, across every worker (local servers often
    # have a few slots only); the deployment's own cap applies when it is lower.
    max_concurrency: int | None = Field(default=None, ge=1, le=1024)
    # The model's context window and output limit in tokens, when the family table does
    # not know it (a local model): units are sized to fit them.
    context_window: int | None = Field(default=None, ge=512, le=10_000_000)
    max_output_tokens: int | None = Field(default=None, ge=128, le=1_000_000)
    thinking_level: ThinkingLevel | None = None
    # Gemini 2.5 models: a thinking budget in tokens (0 off, -1 dynamic).
    thinking_budget: int | None = Field(default=None, ge=-1, le=32_768)
    # Azure OpenAI's api-version (else the base URL's ``?api-version=``, else the GA one).
    api_version: str | None = Field(default=None, max_length=40, pattern=r"^[A-Za-z0-9.\-]+$")
    vertex_project: str | None = None
    vertex_location: str = "global"
    service_account: ServiceAccount | None = None

    @field_validator("api_keys")
    @classmethod
    def _distinct_keys(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for key in keys:
            if key.strip():
                seen.setdefault(key.strip(), None)
        return tuple(seen)

    @model_validator(mode="after")
    def _consistent(self) -> ProviderConfig:
        if self.provider == "vertex":
            if self.service_account is None:
                raise ValueError("the vertex provider needs a service account")
            if not (self.vertex_project or self.service_account.project_id):
                raise ValueError("the vertex provider needs a project id")
        elif not self.api_keys:
            raise ValueError(f"the {self.provider} provider needs an API key")
        if self.provider == "azure" and not self.base_url:
            raise ValueError("the azure provider needs the resource endpoint as base_url")
        name = self.model.lower()
        if self.thinking_level is not None:
            if "gemini-" not in name:
                raise ValueError("thinking_level applies only to Gemini models")
            if "gemini-3-pro" in name and self.thinking_level not in ("low", "high"):
                raise ValueError(
                    f"Gemini 3 Pro only supports thinking_level low or high "
                    f"(got {self.thinking_level!r})"
                )
        if self.thinking_budget is not None:
            if "gemini-2.5" not in name:
                raise ValueError("thinking_budget applies only to Gemini 2.5 models")
            if "pro" in name and 0 <= self.thinking_budget < 128:
                raise ValueError("Gemini 2.5 Pro cannot turn thinking off (budget 128 or more)")
        return self

    @property
    def project(self) -> str | None:
        account = self.service_account
        return self.vertex_project or (account.project_id if account else None)

    def key_ids(self) -> list[str]:
        return [key_id(k) for k in self.api_keys]

    def __repr__(self) -> str:  # never print keys
        return (
            f"ProviderConfig(provider={self.provider!r}, model={self.model!r}, "
            f"keys={self.key_ids()})"
        )

    __str__ = __repr__
