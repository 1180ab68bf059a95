"""Turning a job submission's optional fields into validated values (422 when wrong).

Accepts the upstream client's shapes: style JSON with ``protagonist_name``,
``narration_style_endings``, ``tone_keywords``, ``stylistic_rule``; glossaries as
``{term: translation}``, ``[{source, korean}]``, ``[{term, translation}]`` or
``[{term: translation}]``; provider fields ``api_key``, ``backup_api_keys`` (JSON list or
comma/newline separated), ``api_provider``, ``model_name``, ``provider_config``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from folio.contracts import GlossaryEntry, NarrativeStyle, ProviderConfig
from folio.errors import InvalidInput

MAX_GLOSSARY_ENTRIES = 5000
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


def parse_glossary(raw: str | None) -> list[GlossaryEntry]:
    """All four upstream glossary shapes, as user entries."""
    if raw is None or not raw.strip():
        return []
    data = _json(raw, "glossary_data")
    pairs: list[tuple[Any, Any]] = []
    if isinstance(data, dict):
        items = data.get("translations") if isinstance(data.get("translations"), list) else None
        pairs = (
            list(data.items())
            if items is None
            else [
                (i.get("source"), i.get("korean") or i.get("translation"))
                for i in items
                if isinstance(i, dict)
            ]
        )
    elif isinstance(data, list):
        for item in data:
            if not isinstance(item, dict):
                raise InvalidInput("glossary_data list items must be objects.")
            if "source" in item:
                pairs.append(
                    (
                        item.get("source"),
                        item.get("korean") or item.get("translation") or item.get("target"),
                    )
                )
            elif "term" in item:
                pairs.append((item.get("term"), item.get("translation")))
            elif len(item) == 1:
                pairs.append(next(iter(item.items())))
            else:
                raise InvalidInput(
                    "glossary_data items must be {source, korean}, {term, translation} or "
                    "{term: translation}.",
                )
    else:
        raise InvalidInput("glossary_data must be a JSON object or list.")
    if len(pairs) > MAX_GLOSSARY_ENTRIES:
        raise InvalidInput(f"glossary_data has more than {MAX_GLOSSARY_ENTRIES} entries.")
    entries: dict[str, GlossaryEntry] = {}
    for term, translation in pairs:
        if not isinstance(term, str) or not isinstance(translation, str):
            raise InvalidInput("every glossary term and translation must be a string.")
        if not term.strip() or not translation.strip():
            continue
        try:
            entries[term.strip()] = GlossaryEntry(
                term=term.strip(), translation=translation.strip(), source="user"
            )
        except ValidationError as exc:
            raise InvalidInput(
                f"glossary entry {term[:40]!r} is invalid: {exc.errors()[0]['msg']}"
            ) from exc
    return list(entries.values())


def parse_keys(api_key: str | None, backup_api_keys: str | None) -> list[str]:
    keys = [api_key.strip()] if api_key and api_key.strip() else []
    if backup_api_keys and backup_api_keys.strip():
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
    backup_api_keys: str | None,
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
    if provider == "vertex":
        if not provider_config or not provider_config.strip():
            raise InvalidInput("Vertex provider requires JSON payload.")
        payload = _json(provider_config, "provider_config")
        if not isinstance(payload, dict):
            raise InvalidInput("provider_config must be a JSON object.")
        account = payload.get("service_account", payload)
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
