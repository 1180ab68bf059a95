"""Which structured-output format each OpenAI-compatible server accepts, as learned.

``json_schema`` (the server enforces the schema) is tried first. A server that answers
that it does not know it (a 400 about ``response_format``; llama-cpp-python's 500 "Input
should be 'text' or 'json_object'") is sent ``json_object`` instead, with the schema in
``response_format.schema`` (llama-cpp-python and llama.cpp enforce it there) and in the
prompt (for servers that ignore the field). The lesson is kept per (endpoint, model):
another model behind the same router may well support it. It expires after an hour, so an
upgraded server is tried again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

FALLBACK_TTL_S = 3600.0


class FormatMemory:
    def __init__(
        self, ttl_s: float = FALLBACK_TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._until: dict[tuple[str, str], float] = {}
        self._ttl_s = ttl_s
        self._clock = clock

    def json_object_only(self, endpoint: str, model: str) -> bool:
        key = (endpoint.rstrip("/"), model)
        until = self._until.get(key)
        if until is None:
            return False
        if until <= self._clock():
            del self._until[key]
            return False
        return True

    def remember_json_object(self, endpoint: str, model: str) -> None:
        self._until[(endpoint.rstrip("/"), model)] = self._clock() + self._ttl_s

    def forget(self) -> None:
        self._until.clear()


FORMATS = FormatMemory()


def json_only_instruction(schema: dict[str, Any]) -> str:
    """The prompt suffix that replaces ``json_schema`` on servers without it."""
    return (
        "\n\nAnswer with a single JSON document only (no prose, no code fences) that is "
        "valid for this JSON schema:\n<json_schema>\n"
        + json.dumps(schema, ensure_ascii=False)
        + "\n</json_schema>"
    )


def rejects_json_schema(status: int, message: str, param: Any) -> bool:
    """Whether an error answer to a ``json_schema`` request says the format is unknown.

    Only messages that name the format count: a 400 that merely says "unsupported" about
    something else (a parameter, a model) must not switch the endpoint.
    """
    lowered = message.lower()
    if status == 500:
        # llama-cpp-python validates ``response_format.type`` as Literal["text",
        # "json_object"] and answers the validation error as a 500.
        return "json_object" in lowered and ("'text'" in lowered or '"text"' in lowered)
    if status not in (400, 404, 415, 422) or "invalid schema" in lowered:
        return False  # an invalid schema is ours to fix, not a missing feature
    return (
        param == "response_format"
        or "json_schema" in lowered
        or "response_format" in lowered
        or "response format" in lowered
    )
