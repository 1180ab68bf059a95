"""A job's options as the upload form carries them, and where keys come from.

Keys are read from environment variables or a hidden prompt, never from the command line
(where shell history and process lists would keep them), and never printed."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

import typer

from folio_cli.errors import CliError, ExitCode

API_KEY_ENV = "FOLIO_API_KEY"
BACKUP_KEYS_ENV = "FOLIO_BACKUP_API_KEYS"


class GlossaryMode(StrEnum):
    seed = "seed"
    replace = "replace"


class Provider(StrEnum):
    gemini = "gemini"
    openai = "openai"
    openrouter = "openrouter"
    vertex = "vertex"
    anthropic = "anthropic"
    azure = "azure"


class ThinkingLevel(StrEnum):
    minimal = "minimal"
    low = "low"
    medium = "medium"
    high = "high"


TABULAR = (".csv", ".tsv")


@dataclass(frozen=True)
class JobRequest:
    """Everything a new job can be given, besides the book itself."""

    target_language: str | None = None
    source_language: str | None = None
    segment_size: int | None = None
    turbo: bool = False
    strict: bool = False
    style_file: Path | None = None
    glossary_file: Path | None = None
    glossary_mode: GlossaryMode | None = None
    max_tokens: int | None = None
    bilingual: bool = False
    colophon: bool = False
    vertical_writing: bool = False
    provider: Provider | None = None
    model: str | None = None
    analysis_model: str | None = None
    base_url: str | None = None
    requests_per_minute: int | None = None
    thinking_level: ThinkingLevel | None = None
    provider_config_file: Path | None = None
    validate: bool = False
    quick_validation: bool = False
    validation_sample_rate: float | None = None
    post_edit: bool = False
    api_key: str | None = field(default=None, repr=False)
    backup_api_keys: str | None = field(default=None, repr=False)

    def with_keys(self, *, key_env: str, ask_key: bool) -> JobRequest:
        """The request with the provider key from ``key_env`` (or asked for) and backup
        keys from ``FOLIO_BACKUP_API_KEYS``."""
        key = os.environ.get(key_env, "").strip() or None
        if ask_key:
            key = typer.prompt("API key", hide_input=True).strip() or None
        backups = os.environ.get(BACKUP_KEYS_ENV, "").strip() or None
        return replace(self, api_key=key, backup_api_keys=backups)

    def form(self) -> dict[str, str]:
        """The multipart form fields of ``POST /api/v1/jobs`` (only the ones given)."""
        if self.turbo and self.strict:
            raise CliError("--turbo and --strict cannot be combined", ExitCode.USAGE)
        fields: dict[str, str | None] = {
            "target_language": self.target_language,
            "source_language": self.source_language,
            "segment_size": _text(self.segment_size),
            "turbo_mode": _flag(self.turbo),
            "strict_continuity": _flag(self.strict),
            "style_data": _json_file(self.style_file, "--style"),
            "glossary_data": None
            if self._tabular_glossary()
            else _json_file(self.glossary_file, "--glossary"),
            "glossary_mode": self.glossary_mode.value if self.glossary_mode else None,
            "max_tokens": _text(self.max_tokens),
            "bilingual": _flag(self.bilingual),
            "colophon": _flag(self.colophon),
            "vertical_writing": _flag(self.vertical_writing),
            "api_provider": self.provider.value if self.provider else None,
            "api_key": self.api_key,
            "backup_api_keys": self.backup_api_keys,
            "model_name": self.model,
            "style_model_name": self.analysis_model,
            "api_base_url": self.base_url,
            "requests_per_minute": _text(self.requests_per_minute),
            "thinking_level": self.thinking_level.value if self.thinking_level else None,
            "provider_config": _json_file(self.provider_config_file, "--provider-config"),
            "enable_validation": _flag(self.validate),
            "quick_validation": _flag(self.quick_validation),
            "validation_sample_rate": _text(self.validation_sample_rate),
            "enable_post_edit": _flag(self.post_edit),
        }
        return {name: value for name, value in fields.items() if value is not None}

    def _tabular_glossary(self) -> bool:
        return self.glossary_file is not None and self.glossary_file.suffix.lower() in TABULAR

    def files(self) -> dict[str, tuple[str, bytes, str]]:
        """The file parts besides the book: a CSV or TSV glossary goes as ``glossary_file``
        (a JSON one as ``glossary_data``, checked here first)."""
        if not self._tabular_glossary():
            return {}
        path = self.glossary_file
        assert path is not None
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CliError(f"--glossary: cannot read {path}: {exc}", ExitCode.USAGE) from None
        kind = "text/csv" if path.suffix.lower() == ".csv" else "text/tab-separated-values"
        return {"glossary_file": (path.name, content, kind)}


def _text(value: float | None) -> str | None:
    return None if value is None else str(value)


def _flag(value: bool) -> str | None:
    return "true" if value else None


def _json_file(path: Path | None, option: str) -> str | None:
    """A JSON file's text, checked to be JSON here rather than refused by the server."""
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
        json.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{option}: cannot read {path}: {exc}", ExitCode.USAGE) from None
    except ValueError as exc:
        raise CliError(f"{option}: {path} is not valid JSON: {exc}", ExitCode.USAGE) from None
    return text
