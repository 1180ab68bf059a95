"""Pydantic models as the JSON schemas each provider's structured output accepts.

Providers take narrow dialects: OpenAI's strict mode wants every property required and no
extra properties; Gemini wants a small OpenAPI subset with uppercase types and no ``$ref``.
Both start from pydantic's schema with references inlined, and the answer is always
validated by the same pydantic model afterwards, so dropping a constraint the provider does
not understand only costs a retry, never a wrong result.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from pydantic import BaseModel

JsonSchema = dict[str, Any]

# Keywords OpenAI's strict mode accepts (others make it answer 400).
_OPENAI_STRICT_KEYS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "anyOf",
        "description",
        "title",
        "format",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
    }
)
_OPENAI_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)

# Fields of Gemini's ``Schema`` message that we pass on (title/default are dropped on purpose).
_GEMINI_KEYS = frozenset(
    {
        "description",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "pattern",
    }
)
_GEMINI_FORMATS = frozenset({"date-time", "int32", "int64", "float", "double", "enum"})
_GEMINI_TYPES = {
    "object": "OBJECT",
    "string": "STRING",
    "array": "ARRAY",
    "integer": "INTEGER",
    "number": "NUMBER",
    "boolean": "BOOLEAN",
}
_MAX_DEPTH = 64


class SchemaError(ValueError):
    """The model cannot be expressed for the provider (e.g. a recursive model)."""


@functools.lru_cache(maxsize=256)  # schemas are rebuilt per call otherwise
def schema_name(model: type[BaseModel]) -> str:
    """A name OpenAI accepts (``^[a-zA-Z0-9_-]{1,64}$``)."""
    raw = str(model.model_json_schema().get("title") or model.__name__)
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in raw)
    return cleaned[:64] or "answer"


def inline_refs(schema: JsonSchema) -> JsonSchema:
    """The schema with every ``$ref`` replaced by its definition and ``$defs`` removed.

    A ``$ref`` with sibling keywords (pydantic puts a field's description next to it) is
    merged with the definition; a one-element ``allOf`` is flattened the same way.
    """
    definitions: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        found = schema.get(key)
        if isinstance(found, dict):
            definitions.update(found)

    def resolve(node: Any, depth: int, trail: tuple[str, ...]) -> Any:
        if depth > _MAX_DEPTH:
            raise SchemaError("the schema is too deeply nested")
        if isinstance(node, list):
            return [resolve(item, depth + 1, trail) for item in node]
        if not isinstance(node, dict):
            return node
        node = {k: v for k, v in node.items() if k not in ("$defs", "definitions")}
        ref = node.pop("$ref", None)
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name in trail:
                raise SchemaError(f"recursive models are not supported ({name})")
            if name not in definitions:
                raise SchemaError(f"unknown schema reference {ref}")
            target = resolve(copy.deepcopy(definitions[name]), depth + 1, (*trail, name))
            return {**target, **{k: resolve(v, depth + 1, trail) for k, v in node.items()}}
        all_of = node.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1:
            del node["allOf"]
            merged = resolve(all_of[0], depth + 1, trail)
            return {**merged, **{k: resolve(v, depth + 1, trail) for k, v in node.items()}}
        return {k: resolve(v, depth + 1, trail) for k, v in node.items()}

    resolved = resolve(schema, 0, ())
    assert isinstance(resolved, dict)
    return resolved


# --- OpenAI ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)  # schemas are rebuilt per call otherwise
def openai_schema(model: type[BaseModel]) -> tuple[JsonSchema, bool]:
    """The schema for ``response_format.json_schema`` and whether it is strict-safe.

    Strict-safe means: every object closed (``additionalProperties: false``) with all its
    properties required (optional fields stay nullable, so the model answers ``null``). A
    model with free-form maps (``dict[str, X]``) cannot be closed; then the schema is sent
    with ``strict: false`` and enforced by validation only.
    """
    schema = inline_refs(model.model_json_schema())
    strict = _is_strict_safe(schema)
    return (_strictify(schema) if strict else schema), strict


def _is_strict_safe(node: Any) -> bool:
    if isinstance(node, list):
        return all(_is_strict_safe(item) for item in node)
    if not isinstance(node, dict):
        return True
    extra = node.get("additionalProperties")
    if extra not in (None, False):
        return False
    if node.get("type") == "object" and not node.get("properties"):
        return False
    return all(_is_strict_safe(v) for k, v in node.items() if k not in ("enum", "const"))


def _strictify(node: Any) -> Any:
    if isinstance(node, list):
        return [_strictify(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key not in _OPENAI_STRICT_KEYS:
            continue
        if key == "format" and value not in _OPENAI_FORMATS:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _strictify(sub) for name, sub in value.items()}
        elif key in ("enum", "const"):
            out[key] = value
        else:
            out[key] = _strictify(value)
    if out.get("type") == "object" or "properties" in out:
        out["additionalProperties"] = False
        out["required"] = list(out.get("properties", {}))
    return out


# --- Gemini / Vertex -------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)  # schemas are rebuilt per call otherwise
def gemini_schema(model: type[BaseModel]) -> JsonSchema:
    """The schema for Gemini's ``generationConfig.responseSchema`` (OpenAPI subset)."""
    return _to_gemini(inline_refs(model.model_json_schema()))


@functools.lru_cache(maxsize=256)  # schemas are rebuilt per call otherwise
def gemini_response_schema(model: type[BaseModel]) -> tuple[str, JsonSchema]:
    """The ``generationConfig`` field and schema to send for ``model``.

    The OpenAPI subset has no maps (``dict[str, X]``); such models go out as plain JSON
    Schema in ``responseJsonSchema`` instead, which current Gemini models accept.
    """
    inlined = inline_refs(model.model_json_schema())
    if _is_strict_safe(inlined):
        return "responseSchema", _to_gemini(inlined)
    return "responseJsonSchema", inlined


def _to_gemini(node: dict[str, Any]) -> JsonSchema:
    branches = node.get("anyOf") or node.get("oneOf")
    if isinstance(branches, list):
        return _gemini_union(node, branches)
    types = node.get("type")
    nullable = False
    if isinstance(types, list):  # ["string", "null"]
        nullable = "null" in types
        concrete = [t for t in types if t != "null"]
        types = concrete[0] if len(concrete) == 1 else None
    out: JsonSchema = {}
    if "const" in node:
        node = {**node, "enum": [node["const"]]}
    enum = node.get("enum")
    if isinstance(enum, list):
        values = [v for v in enum if v is not None]
        nullable = nullable or len(values) < len(enum)
        out["type"] = "STRING"
        out["format"] = "enum"
        out["enum"] = [v if isinstance(v, str) else _enum_text(v) for v in values]
    elif isinstance(types, str) and types in _GEMINI_TYPES:
        out["type"] = _GEMINI_TYPES[types]
    elif types == "null":
        out["type"] = "STRING"
        nullable = True
    elif isinstance(node.get("properties"), dict):
        out["type"] = "OBJECT"
    for key in _GEMINI_KEYS:
        if key in node:
            out[key] = node[key]
    fmt = node.get("format")
    if isinstance(fmt, str) and fmt in _GEMINI_FORMATS and "enum" not in out:
        out["format"] = fmt
    properties = node.get("properties")
    if isinstance(properties, dict) and properties:
        out["properties"] = {name: _to_gemini(sub) for name, sub in properties.items()}
        out["propertyOrdering"] = list(properties)
        required = [r for r in node.get("required", []) if r in properties]
        if required:
            out["required"] = required
    items = node.get("items")
    if isinstance(items, dict):
        out["items"] = _to_gemini(items)
    if nullable:
        out["nullable"] = True
    return out


def _gemini_union(node: dict[str, Any], branches: list[Any]) -> JsonSchema:
    concrete = [b for b in branches if isinstance(b, dict) and b.get("type") != "null"]
    nullable = len(concrete) < len(branches)
    rest = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}
    if len(concrete) == 1:
        out = _to_gemini({**concrete[0], **rest})
    else:
        out = {"anyOf": [_to_gemini(b) for b in concrete]}
        if isinstance(rest.get("description"), str):
            out["description"] = rest["description"]
    if nullable:
        out["nullable"] = True
    return out


def _enum_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
