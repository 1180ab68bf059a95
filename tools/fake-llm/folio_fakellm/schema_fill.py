"""Generate one JSON value that validates against a schema, with content from the prompt.

Clients parse structured answers with strict models, so the fake must produce *valid*
documents for arbitrary schemas (pydantic ``model_json_schema()`` output, OpenAI strict
schemas, Gemini's uppercase OpenAPI subset). Content is drawn from the source text (names,
phrases, pseudo-translations) so that tests can check glossary/name logic end to end.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NAME_PROP_RE = re.compile(r"(name|term|source|character|speaker|listener|protagonist|entity)", re.I)
TRANSLATION_PROP_RE = re.compile(r"(translation|translated|target|korean|rendering|render)", re.I)
LANGUAGE_PROP_RE = re.compile(r"lang", re.I)

DEFAULT_MAX_ITEMS = 8
MAX_DEPTH = 16
PHRASE_WORDS = 12

_SENTENCE_SPLIT_RE = re.compile("(?<=[.!?\u2026])[\"\u201d\u2019')\\]]*\\s+|\n+")
_INDEX_RE = re.compile(r"\[\d+\]")
_QUOTES = "\"'\u201c\u201d\u2018\u2019()[] "
Json = Any


@dataclass
class FillContext:
    """Prompt-derived material for filling a schema."""

    source: str
    names: list[str]
    target_language: str
    translate: Callable[[str], str]
    seed: str


def _is_translation_prop(prop: str | None) -> bool:
    return bool(prop) and bool(TRANSLATION_PROP_RE.search(prop or "")) and not _is_language(prop)


def _is_name_prop(prop: str | None) -> bool:
    return bool(prop) and bool(NAME_PROP_RE.search(prop or "")) and not _is_language(prop)


def _is_language(prop: str | None) -> bool:
    return bool(prop) and bool(LANGUAGE_PROP_RE.search(prop or ""))


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class SchemaFiller:
    """Walks a (resolved) schema and produces a conforming value."""

    def __init__(self, schema: dict[str, Any], ctx: FillContext) -> None:
        self.root = schema
        self.ctx = ctx
        self.names = list(ctx.names) or ["Name1"]
        sentences = [s.strip() for s in _SENTENCE_SPLIT_RE.split(ctx.source) if s.strip()]
        self.sentences = sentences or ["text"]
        # The seed is the whole prompt: digest it once, not in every slot's hash.
        self._seed = hashlib.sha256(ctx.seed.encode("utf-8")).hexdigest()
        # pick() is pure for a given schema node, and a schema's nodes are visited once per
        # array item: remember the answers (keyed by node identity; the nodes stay alive).
        self._picked: dict[int, dict[str, Any]] = {}

    # --- helpers -------------------------------------------------------------------------
    def _hash(self, *parts: object) -> int:
        key = "|".join([self._seed, *map(str, parts)])
        return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")

    def name(self, slot: int) -> str:
        return self.names[slot % len(self.names)]

    def _ensure_names(self, count: int) -> None:
        k = 1
        while len(self.names) < count:
            candidate = f"Name{k}"
            if candidate not in self.names:
                self.names.append(candidate)
            k += 1

    def _lookup(self, ref: str) -> Any:
        if not ref.startswith("#"):
            return {}
        node: Any = self.root
        for raw in ref[1:].split("/"):
            if raw == "":
                continue
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return {}
        return node

    def resolve(self, schema: Any) -> dict[str, Any]:
        """Follow ``$ref`` and merge ``allOf`` so callers see one flat schema."""
        if not isinstance(schema, dict):
            return {}
        for _ in range(64):
            ref = schema.get("$ref")
            if not isinstance(ref, str):
                break
            target = self._lookup(ref)
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**(target if isinstance(target, dict) else {}), **rest}
        parts = schema.get("allOf")
        if isinstance(parts, list) and parts:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in parts:
                sub = self.resolve(part)
                props = {**merged.get("properties", {}), **sub.get("properties", {})}
                required = [*merged.get("required", []), *sub.get("required", [])]
                merged = {**sub, **merged}
                if props:
                    merged["properties"] = props
                if required:
                    merged["required"] = list(dict.fromkeys(required))
            schema = merged
        resolved: dict[str, Any] = schema
        return resolved

    def _is_null(self, schema: Any) -> bool:
        s = self.resolve(schema)
        t = s.get("type")
        return (isinstance(t, str) and t.lower() == "null") or (
            isinstance(t, list) and [x.lower() for x in t] == ["null"]
        )

    def pick(self, schema: Any) -> dict[str, Any]:
        """Resolve and choose the first non-null ``anyOf``/``oneOf`` branch."""
        known = self._picked.get(id(schema))
        if known is None:
            known = self._picked[id(schema)] = self._pick(schema)
        return known

    def _pick(self, schema: Any) -> dict[str, Any]:
        s = self.resolve(schema)
        for _ in range(16):
            branches = s.get("anyOf") or s.get("oneOf")
            if not isinstance(branches, list) or not branches:
                break
            non_null = [b for b in branches if not self._is_null(b)]
            base = {k: v for k, v in s.items() if k not in ("anyOf", "oneOf")}
            if not non_null:
                return {**base, "type": "null"}
            s = {**base, **self.resolve(non_null[0])}
        return s

    def type_of(self, s: dict[str, Any]) -> str:
        t = s.get("type")
        if isinstance(t, list):
            non_null = [x.lower() for x in t if isinstance(x, str) and x.lower() != "null"]
            return non_null[0] if non_null else "null"
        if isinstance(t, str):
            return t.lower()
        if "properties" in s or "additionalProperties" in s:
            return "object"
        if "items" in s or "prefixItems" in s:
            return "array"
        enum = s.get("enum")
        if isinstance(enum, list) and enum:
            first = next((v for v in enum if v is not None), None)
            if isinstance(first, bool):
                return "boolean"
            if isinstance(first, int):
                return "integer"
            if isinstance(first, float):
                return "number"
        return "string"

    def _stringish(self, schema: Any) -> bool:
        s = self.pick(schema)
        return self.type_of(s) == "string" and "enum" not in s and "const" not in s

    # --- filling -------------------------------------------------------------------------
    def fill(self) -> Json:
        return self.value(self.root, path="$", prop=None, slot=0, depth=0, root=True)

    def value(
        self,
        schema: Any,
        *,
        path: str,
        prop: str | None,
        slot: int,
        depth: int,
        root: bool = False,
        in_array: bool = False,
        map_key: str | None = None,
    ) -> Json:
        s = self.pick(schema)
        if "const" in s:
            return s["const"]
        t = self.type_of(s)
        if t == "null":
            return None
        enum = s.get("enum")
        if isinstance(enum, list) and enum:
            values = [v for v in enum if v is not None]
            if not values:
                return None
            if t == "boolean" and True in values:
                return True
            # hash the path without array indices so array elements step through the values
            return values[(self._hash(_INDEX_RE.sub("[]", path)) + slot) % len(values)]
        if depth > MAX_DEPTH:
            return self._minimal(s, t)
        if t == "object":
            return self._object(s, path=path, slot=slot, depth=depth, root=root)
        if t == "array":
            return self._array(s, path=path, prop=prop, slot=slot, depth=depth)
        if t == "boolean":
            return True
        if t in ("integer", "number"):
            return self._number(s, t, slot)
        return self._string(s, path=path, prop=prop, slot=slot, in_array=in_array, map_key=map_key)

    def _minimal(self, s: dict[str, Any], t: str, depth: int = 0) -> Json:
        """Smallest valid-looking value, used once the recursion depth limit is reached."""
        if "const" in s:
            return s["const"]
        enum = s.get("enum")
        if isinstance(enum, list) and enum:
            return enum[0]
        if t == "null":
            return None
        if t == "object":
            props = s.get("properties") or {}
            if depth > MAX_DEPTH:
                return {}  # an unsatisfiable, infinitely recursive required chain
            out: dict[str, Json] = {}
            for p in s.get("required", []):
                if p in props:
                    sub = self.pick(props[p])
                    out[p] = self._minimal(sub, self.type_of(sub), depth + 1)
            return out
        if t == "array":
            return []
        if t == "boolean":
            return True
        if t in ("integer", "number"):
            return self._number(s, t, 0)
        return self._fit("x", s)

    def _object(
        self, s: dict[str, Any], *, path: str, slot: int, depth: int, root: bool
    ) -> dict[str, Json]:
        props = s.get("properties")
        if not isinstance(props, dict) or not props:
            extra = s.get("additionalProperties")
            if not isinstance(extra, dict):
                return {}
            lo = int(s.get("minProperties") or 0)
            hi = s.get("maxProperties")
            count = max(lo, min(3, len(self.names)))
            if isinstance(hi, int):
                count = min(count, hi)
            self._ensure_names(count)
            keys = [self.name(slot + i) for i in range(count)]
            return {
                key: self.value(
                    extra,
                    path=f"{path}.{key}",
                    prop=None,
                    slot=slot + i,
                    depth=depth + 1,
                    map_key=key,
                )
                for i, key in enumerate(keys)
            }
        ordering = [p for p in s.get("propertyOrdering") or [] if p in props]
        order = ordering + [p for p in props if p not in ordering]
        name_props = [p for p in order if _is_name_prop(p) and not _is_translation_prop(p)]
        name_props = [p for p in name_props if self._stringish(props[p])]
        deferred = [p for p in order if _is_translation_prop(p) and self._stringish(props[p])]
        values: dict[str, Json] = {}
        for p in order:
            if p in deferred:
                continue
            p_slot = slot + name_props.index(p) if p in name_props else slot
            values[p] = self.value(
                props[p], path=f"{path}.{p}", prop=p, slot=p_slot, depth=depth + 1
            )
        # The name this object is about (a free string or one chosen from an enum, like a
        # glossary entry's term): its translation is what a translation field holds.
        named = [p for p in order if _is_name_prop(p) and not _is_translation_prop(p)]
        sibling = next((values[p] for p in named if isinstance(values.get(p), str)), None)
        for p in deferred:
            ps = self.pick(props[p])
            if isinstance(sibling, str) and sibling:
                text = self.ctx.translate(sibling)
            elif root:
                text = self.ctx.translate(self.ctx.source)
            else:
                text = self.ctx.translate(self.name(slot))
            values[p] = self._fit(text, ps)
        return {p: values[p] for p in order}

    def _array(
        self, s: dict[str, Any], *, path: str, prop: str | None, slot: int, depth: int
    ) -> list[Json]:
        prefix = s.get("prefixItems")
        items = s.get("items")
        if not isinstance(items, dict):
            items = {} if items is not False else None
        lo = int(s.get("minItems") or 0)
        hi = s.get("maxItems")
        hi = int(hi) if isinstance(hi, int) else DEFAULT_MAX_ITEMS
        out: list[Json] = []
        if isinstance(prefix, list) and prefix:
            for i, sub in enumerate(prefix[: hi if hi >= 0 else None]):
                out.append(
                    self.value(
                        sub,
                        path=f"{path}[{i}]",
                        prop=prop,
                        slot=slot + i,
                        depth=depth + 1,
                        in_array=True,
                    )
                )
            while items is not None and len(out) < lo:
                i = len(out)
                out.append(
                    self.value(
                        items,
                        path=f"{path}[{i}]",
                        prop=prop,
                        slot=slot + i,
                        depth=depth + 1,
                        in_array=True,
                    )
                )
            return out
        if items is None:
            return []
        count = max(lo, min(hi, len(self.names)))
        item = self.pick(items)
        enum = item.get("enum")
        if s.get("uniqueItems") and isinstance(enum, list):
            count = max(lo, min(count, len([v for v in enum if v is not None])))
        self._ensure_names(count)
        return [
            self.value(
                items, path=f"{path}[{i}]", prop=prop, slot=slot + i, depth=depth + 1, in_array=True
            )
            for i in range(count)
        ]

    def _number(self, s: dict[str, Any], t: str, slot: int) -> int | float:
        lo, hi = _num(s.get("minimum")), _num(s.get("maximum"))
        xlo, xhi = _num(s.get("exclusiveMinimum")), _num(s.get("exclusiveMaximum"))
        if t == "integer":
            lo_i = int(lo) if lo is not None else (int(xlo) + 1 if xlo is not None else None)
            hi_i = int(hi) if hi is not None else (int(xhi) - 1 if xhi is not None else None)
            v = (lo_i if lo_i is not None else 1) + slot
            if hi_i is not None:
                v = min(v, hi_i)
            if lo_i is not None:
                v = max(v, lo_i)
            return v
        low = lo if lo is not None else xlo
        high = hi if hi is not None else xhi
        if low is not None and high is not None:
            return (low + high) / 2
        if low is not None:
            return low + 1.0 + slot
        if high is not None:
            return high - 1.0
        return 1.0 + slot

    def _string(
        self,
        s: dict[str, Any],
        *,
        path: str,
        prop: str | None,
        slot: int,
        in_array: bool,
        map_key: str | None,
    ) -> str:
        fmt = str(s.get("format") or "").lower()
        if fmt == "date-time":
            return "2024-01-01T00:00:00Z"
        if fmt == "date":
            return "2024-01-01"
        if fmt == "time":
            return "00:00:00"
        if fmt == "uuid":
            return str(uuid.UUID(int=self._hash(path, slot) << 64 | self._hash(slot, path)))
        if fmt == "email":
            return f"user{slot + 1}@example.com"
        if fmt in ("uri", "url"):
            return f"https://example.com/{slot + 1}"
        if _is_language(prop):
            text = self.ctx.target_language
        elif map_key is not None:
            text = self.ctx.translate(map_key)
        elif _is_translation_prop(prop):
            text = self.ctx.translate(self.name(slot))
        elif _is_name_prop(prop) or in_array:
            text = self.name(slot)
        else:
            text = self._phrase(path, slot)
        return self._fit(text, s)

    def _phrase(self, path: str, slot: int) -> str:
        sentence = self.sentences[(self._hash(path) + slot) % len(self.sentences)]
        phrase = " ".join(sentence.split()[:PHRASE_WORDS]).strip(_QUOTES)
        return phrase or "text"

    def _fit(self, text: str, s: dict[str, Any]) -> str:
        lo = s.get("minLength")
        hi = s.get("maxLength")
        if isinstance(lo, int) and len(text) < lo:
            filler = self.sentences[0] or "x"
            while len(text) < lo:
                text = f"{text} {filler}" if text else filler
        if isinstance(hi, int) and len(text) > hi:
            text = text[:hi]
        return text


def fill_schema(schema: dict[str, Any], ctx: FillContext) -> Json:
    """Return a value valid for ``schema`` (JSON Schema or Gemini OpenAPI subset)."""
    return SchemaFiller(schema, ctx).fill()
