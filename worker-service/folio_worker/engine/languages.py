"""Language codes to the names used in prompts."""

from __future__ import annotations

NAMES = {
    "ko": "Korean",
    "ja": "Japanese",
    "zh": "Chinese",
    "en": "English",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "ru": "Russian",
}


def language_name(code_or_name: str) -> str:
    key = code_or_name.strip()
    return NAMES.get(key.lower().split("-")[0], key)
