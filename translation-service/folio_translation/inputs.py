"""Turning a job submission's optional fields into validated values (422 when wrong).

Accepts the upstream client's shapes: style JSON with ``protagonist_name``,
``narration_style_endings``, ``tone_keywords``, ``stylistic_rule``; glossaries in the
upstream's JSON shapes, structured JSON, CSV or TSV (``glossary_io``); provider fields
``api_key``, ``backup_api_keys`` (JSON list or comma/newline separated), ``api_provider``,
``model_name``, ``provider_config``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from folio.contracts import GlossaryEntry, NarrativeStyle, ProviderConfig
from folio.errors import InvalidInput
from folio_translation import glossary_io

OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"


def _json(raw: str, field: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(
            f"{field} is not valid JSON: {exc.msg} (at position {exc.pos})."
        ) from exc


def parse_style(raw: str | None) -> NarrativeStyle | None:
    if raw is None or not raw.strip():
        return None
    data = _json(raw, "style_data")
    if not isinstance(data, dict):
        raise InvalidInput("style_data must be a JSON object.")
    tone = data.get("tone_keywords") or data.get("tone") or []
    if isinstance(tone, str):
        tone = [t.strip() for t in re.split(r"[,;\n]", tone) if t.strip()]
    try:
        return NarrativeStyle(
            protagonist=data.get("protagonist_name") or data.get("protagonist") or None,
            narration=data.get("narration") or None,
            formality=data.get("narration_style_endings") or data.get("formality") or None,
            tone=[str(t) for t in tone][:20],
            key_rule=data.get("stylistic_rule") or data.get("key_rule") or None,
        )
    except ValidationError as exc:
        raise InvalidInput(f"style_data is invalid: {exc.errors()[0]['msg']}") from exc


def parse_glossary(raw: str | None, *, filename: str = "") -> list[GlossaryEntry]:
    """A glossary in any accepted shape (``glossary_io``), as user entries."""
    return glossary_io.parse_text(raw, "glossary_data", filename=filename)


def glossary_body(body: bytes, content_type: str) -> list[GlossaryEntry]:
    """A glossary edit's body: JSON (an object or a list), CSV or TSV by its media type."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("Invalid glossary payload: the body must be UTF-8.") from None
    media = content_type.split(";", 1)[0].strip().lower()
    if media in ("text/csv", "application/csv"):
        return glossary_io.from_delimited(text, ",", "the glossary")
    if media in ("text/tab-separated-values", "text/tsv"):
        return glossary_io.from_delimited(text, "\t", "the glossary")
    data = _json(text, "the glossary") if text.strip() else None
    if not isinstance(data, (dict, list)):
        raise InvalidInput("Invalid glossary payload: the body must be a JSON object.")
    return glossary_io.from_json(data, "the glossary")


def glossary_entries(data: Any, field: str = "glossary_data") -> list[GlossaryEntry]:
    """A glossary already decoded from JSON, as user entries."""
    return glossary_io.from_json(data, field)


def parse_keys(api_key: str | None, backup_api_keys: str | list[str] | None) -> list[str]:
    keys = [api_key.strip()] if api_key and api_key.strip() else []
    if isinstance(backup_api_keys, list):
        keys.extend(k.strip() for k in backup_api_keys if isinstance(k, str) and k.strip())
    elif backup_api_keys and backup_api_keys.strip():
        raw = backup_api_keys.strip()
        if raw.startswith("["):
            extra = _json(raw, "backup_api_keys")
            if not isinstance(extra, list) or not all(isinstance(k, str) for k in extra):
                raise InvalidInput("backup_api_keys must be a JSON list of strings.")
        else:
            extra = re.split(r"[,\n]", raw)
        keys.extend(k.strip() for k in extra if k.strip())
    return keys


def parse_provider(
    *,
    api_provider: str | None,
    api_key: str | None,
    backup_api_keys: str | list[str] | None,
    model_name: str | None,
    api_base_url: str | None,
    requests_per_minute: int | None,
    thinking_level: str | None,
    provider_config: str | None,
) -> ProviderConfig | None:
    """The user's provider, or None for the deployment's default (no key given)."""
    provider = (api_provider or "gemini").strip().lower()
    keys = parse_keys(api_key, backup_api_keys)
    if provider not in ("gemini", "openai", "openrouter", "vertex", "anthropic", "azure"):
        raise InvalidInput(f"Unsupported provider {provider!r}.")
    if provider != "vertex" and not keys:
        return None
    fields: dict[str, Any] = {
        "provider": provider,
        "model": (model_name or "").strip() or _default_model(provider),
        "api_keys": tuple(keys),
        "requests_per_minute": requests_per_minute,
        "thinking_level": (thinking_level or "").strip().lower() or None,
        "base_url": (api_base_url or "").strip()
        or (OPENROUTER_BASE_URL if provider == "openrouter" else None),
    }
    if "gemini-3" not in fields["model"].lower():
        fields["thinking_level"] = None  # as upstream: it only applies to Gemini 3 models
    if provider == "vertex":
        if not provider_config or not provider_config.strip():
            raise InvalidInput("Vertex provider requires JSON payload.")
        payload = _json(provider_config, "provider_config")
        if not isinstance(payload, dict):
            raise InvalidInput("provider_config must be a JSON object.")
        account = payload.get("service_account", payload)
        if isinstance(account, str):
            account = _json(account, "provider_config service_account")
        if not isinstance(account, dict):
            raise InvalidInput("provider_config service_account must be a JSON object.")
        fields.update(
            service_account=account,
            vertex_project=payload.get("project_id") or account.get("project_id"),
            vertex_location=payload.get("location") or "global",
        )
        if payload.get("default_model") and not (model_name or "").strip():
            fields["model"] = payload["default_model"]
    try:
        return ProviderConfig.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInput(
            f"Invalid provider settings{f' ({where})' if where else ''}: {first['msg']}"
        ) from exc


def _default_model(provider: str) -> str:
    return {
        "gemini": "gemini-flash-lite-latest",
        "vertex": "gemini-flash-latest",
        "openrouter": "google/gemini-2.5-flash-lite-preview-09-2025",
        "openai": "gpt-4o-mini",
        "anthropic": "claude-haiku-4-5",
        "azure": "",  # the deployment's name: the user must give it
    }[provider]
