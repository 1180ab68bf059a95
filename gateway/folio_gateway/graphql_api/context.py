"""What every resolver of one GraphQL request shares: the caller's calls and loaders."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, NewType, TypeVar

import strawberry
from strawberry.types import Info as StrawberryInfo

from folio.identity import Identity
from folio_gateway.graphql_api.loaders import Loaders
from folio_gateway.graphql_api.services import ServiceCalls

T = TypeVar("T")


@dataclass
class GraphContext:
    identity: Identity | None
    services: ServiceCalls
    loaders: Loaders


Info = StrawberryInfo[GraphContext, None]


def build(cls: type[T], data: dict[str, Any], **given: Any) -> T:
    """A GraphQL object from a service's JSON: its fields by their REST names (the
    schema's camelCase names are the same names), nested objects ``given``."""
    names = {f.name for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    values = {name: data.get(name) for name in names if name not in given}
    return cls(**values, **given)


def _parse_long(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise ValueError(f"Long cannot represent {value!r}: a 64-bit integer is expected")
    return value


# Folio's ids are 64-bit, past GraphQL's 32-bit Int; token counts can be too.
Long = strawberry.scalar(
    NewType("Long", int),
    name="Long",
    description="A 64-bit integer (ids, token counts), as a JSON number.",
    serialize=int,
    parse_value=_parse_long,
)
