"""Schema filling: pydantic JSON Schemas, Gemini's OpenAPI subset, content rules."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, TypeAdapter

from folio_fakellm.prompt import extract_names
from folio_fakellm.pseudo import pseudo_translate
from folio_fakellm.schema_fill import FillContext, fill_schema


def ctx_for(source: str, target: str = "Korean") -> FillContext:
    return FillContext(
        source=source,
        names=extract_names(source),
        target_language=target,
        translate=lambda t: pseudo_translate(t, target),
        seed="seed:" + source,
    )


class Kind(enum.Enum):
    PERSON = "person"
    PLACE = "place"


class Entry(BaseModel):
    term: str
    translation: str
    kind: Kind
    gender: Literal["m", "f", "n"] | None = None
    aliases: list[str] = Field(default_factory=list, max_length=3)
    note: str | None = None


class Glossary(BaseModel):
    entries: list[Entry]
    summary: str = Field(max_length=40)
    confident: bool
    count: int = Field(ge=2, le=5)
    score: float = Field(ge=0, le=1)
    updated: dt.datetime
    by_name: dict[str, str]
    pair: tuple[str, int]


def test_pydantic_schema_roundtrip_and_content(sample: str) -> None:
    value = fill_schema(Glossary.model_json_schema(), ctx_for(sample))
    model = Glossary.model_validate(value)
    terms = [e.term for e in model.entries]
    assert terms == ["Gregor", "Samsa", "Grete"]
    for e in model.entries:
        assert e.translation == pseudo_translate(e.term, "Korean")
        assert 0 < len(e.aliases) <= 3
    assert model.confident is True
    assert 2 <= model.count <= 5 and 0 <= model.score <= 1
    assert len(model.summary) <= 40
    assert model.summary.split()[0] in sample
    assert set(model.by_name) <= {"Gregor", "Samsa", "Grete"}
    assert model.by_name["Gregor"] == pseudo_translate("Gregor", "Korean")
    # all properties are filled, optional ones too
    assert all(e.note is not None and e.gender is not None for e in model.entries)


def test_deterministic_for_same_prompt(sample: str) -> None:
    schema = Glossary.model_json_schema()
    assert fill_schema(schema, ctx_for(sample)) == fill_schema(schema, ctx_for(sample))


class Node(BaseModel):
    name: str
    children: list[Node] = []


def test_recursive_schema_terminates(sample: str) -> None:
    value = fill_schema(Node.model_json_schema(), ctx_for(sample))
    Node.model_validate(value)
    assert value["name"] == "Gregor"


def test_gemini_openapi_subset_with_ordering(sample: str) -> None:
    schema: dict[str, Any] = {
        "type": "OBJECT",
        "properties": {
            "characters": {
                "type": "ARRAY",
                "maxItems": 2,
                "items": {
                    "type": "OBJECT",
                    "properties": {
                        "korean": {"type": "STRING"},
                        "name": {"type": "STRING"},
                        "role": {"type": "STRING", "enum": ["hero", "villain"], "format": "enum"},
                        "age": {"type": "INTEGER", "nullable": True},
                        "weight": {"type": "NUMBER"},
                        "alive": {"type": "BOOLEAN"},
                    },
                    "propertyOrdering": ["name", "korean", "role", "age", "weight", "alive"],
                    "required": ["name", "korean"],
                },
            },
            "speaker": {"type": "STRING"},
            "listener": {"type": "STRING"},
        },
        "propertyOrdering": ["speaker", "listener", "characters"],
    }
    value = fill_schema(schema, ctx_for(sample))
    assert list(value) == ["speaker", "listener", "characters"]
    assert value["speaker"] != value["listener"]
    chars = value["characters"]
    assert [c["name"] for c in chars] == ["Gregor", "Samsa"]
    for c in chars:
        assert list(c) == ["name", "korean", "role", "age", "weight", "alive"]
        assert c["korean"] == pseudo_translate(c["name"], "Korean")
        assert c["role"] in ("hero", "villain")
        assert isinstance(c["age"], int) and isinstance(c["weight"], float)
        assert c["alive"] is True


def test_string_array_distinct_names_and_min_items(sample: str) -> None:
    schema = {"type": "array", "items": {"type": "string"}, "minItems": 5, "maxItems": 6}
    value = fill_schema(schema, ctx_for(sample))
    assert len(value) == 5
    assert len(set(value)) == 5
    assert value[:3] == ["Gregor", "Samsa", "Grete"]


def test_string_constraints_and_formats(sample: str) -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string", "minLength": 300},
            "code": {"type": "string", "maxLength": 3},
            "fixed": {"const": "v1"},
            "when": {"type": "string", "format": "date-time"},
            "target_language": {"type": "string"},
            "maybe": {"type": ["string", "null"]},
            "nothing": {"type": "null"},
            "any": {},
        },
        "additionalProperties": False,
    }
    value = fill_schema(schema, ctx_for(sample, "Japanese"))
    assert len(value["title"]) >= 300
    assert len(value["code"]) <= 3
    assert value["fixed"] == "v1"
    dt.datetime.fromisoformat(value["when"])
    assert value["target_language"] == "Japanese"
    assert isinstance(value["maybe"], str)
    assert value["nothing"] is None
    assert isinstance(value["any"], str)


def test_root_translation_without_sibling_translates_whole_source(sample: str) -> None:
    schema = {
        "type": "object",
        "properties": {"translation": {"type": "string"}},
        "required": ["translation"],
    }
    value = fill_schema(schema, ctx_for(sample))
    assert value == {"translation": pseudo_translate(sample, "Korean")}


@pytest.mark.parametrize(
    "annotation",
    [list[int], dict[str, int], Literal["a", "b"], tuple[str, ...], dt.date, list[Kind]],
)
def test_various_type_adapters_validate(annotation: Any, sample: str) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    adapter.validate_python(fill_schema(adapter.json_schema(), ctx_for(sample)))


def test_json_schema_validation_with_enum_uniqueness(sample: str) -> None:
    schema = {
        "type": "array",
        "items": {"enum": ["x", "y"]},
        "uniqueItems": True,
    }
    value = fill_schema(schema, ctx_for(sample))
    assert sorted(value) == ["x", "y"]
