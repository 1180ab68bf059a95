"""What every resolver of one GraphQL request shares: the caller's calls and loaders."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

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
