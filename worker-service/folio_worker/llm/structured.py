"""Turning a model's JSON answer into the requested pydantic model.

Even with schema-enforcing APIs, models wrap JSON in code fences or add a sentence around
it often enough that failing on it would waste paid calls; anything that still does not
validate is a failed attempt, retried by the client.
"""

from __future__ import annotations

import re
from typing import TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n?(.*?)\n?\s*```$", re.DOTALL)


def strip_fence(text: str) -> str:
    """The JSON inside a ```json fence (or the stripped text when there is none)."""
    stripped = text.strip()
    match = _FENCE.match(stripped)
    return match.group(1).strip() if match else stripped


def parse_structured(text: str, schema: type[T]) -> tuple[T, str]:
    """The validated model and the JSON text it came from; ``ValueError`` when invalid."""
    candidate = strip_fence(text)
    try:
        return schema.model_validate_json(candidate), candidate
    except ValidationError as first_error:
        start, end = candidate.find("{"), candidate.rfind("}")
        if 0 <= start < end and (start, end) != (0, len(candidate) - 1):
            inner = candidate[start : end + 1]
            try:
                return schema.model_validate_json(inner), inner
            except ValidationError:
                pass
        raise ValueError(f"invalid JSON for {schema.__name__}") from first_error
