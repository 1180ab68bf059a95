"""Runtime settings, read from ``FAKE_LLM_*`` environment variables.

Everything a test or benchmark may want to vary without code changes lives here, so the same
binary can act as a fast, quiet stub in unit tests and as a slow, flaky provider in
benchmarks.
"""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODELS = "fake-model,gemini-2.5-flash,gemini-flash-lite-latest,gpt-4o-mini"


class FakeLLMSettings(BaseSettings):
    """Settings of the fake LLM server (env prefix ``FAKE_LLM_``)."""

    model_config = SettingsConfigDict(env_prefix="FAKE_LLM_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8090
    models: str = DEFAULT_MODELS
    default_target_language: str = "Korean"
    length_ratio_ko: float = Field(default=0.5, gt=0)
    length_ratio_ja: float = Field(default=0.45, gt=0)
    length_ratio_zh: float = Field(default=0.35, gt=0)
    length_ratio_ru: float = Field(default=1.08, gt=0)
    length_ratio_other: float = Field(default=1.1, gt=0)
    latency_base_ms: float = Field(default=0.0, ge=0)
    latency_per_char_ms: float = Field(default=0.0, ge=0)
    faults: str = ""
    # Share of translation answers with a model's mistake (merged or split paragraphs, a
    # dropped number, a glossary term rendered its own way): see ``mistakes.py``.
    mistake_rate: float = Field(default=0.0, ge=0, le=1)
    seed: int = 0
    retry_after_s: float = Field(default=1.0, ge=0)
    openai_json_schema: bool = True
    # Per key: 429 beyond this many requests in any 60 s / at once (0: no limit).
    rpm_limit: int = Field(default=0, ge=0)
    concurrency_limit: int = Field(default=0, ge=0)
    # Ollama's default context window: its OpenAI endpoint silently keeps only this many
    # prompt tokens (the ``ollama`` flavour).
    ollama_num_ctx: int = Field(default=2048, ge=16)
    # The context window of the vllm / llama-server flavours (400 beyond it).
    context_window: int = Field(default=32768, ge=16)
    # Share of answers with paragraph ids or placeholders that come back with one of them
    # broken (merged/split/renumbered paragraphs, a dropped or moved placeholder).
    layout_fault_rate: float = Field(default=0.0, ge=0, le=1)
    max_logged_requests: int = Field(default=20000, ge=0)
    log_level: str = "info"

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().lower()
        if level not in ("critical", "error", "warning", "info", "debug", "trace"):
            raise ValueError(f"unknown log level {value!r}")
        return level

    @property
    def model_list(self) -> list[str]:
        """Configured model ids, in the order given."""
        return [m.strip() for m in self.models.split(",") if m.strip()]

    def length_ratio(self, language_kind: str) -> float:
        """Length ratio for a resolved language kind (``ko``/``ja``/``zh``/``other``)."""
        return {
            "ko": self.length_ratio_ko,
            "ja": self.length_ratio_ja,
            "zh": self.length_ratio_zh,
            "zht": self.length_ratio_zh,
            "ru": self.length_ratio_ru,
        }.get(language_kind, self.length_ratio_other)
