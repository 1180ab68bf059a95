"""The GraphQL limits in process: the cost estimate, and introspection by environment."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from graphql import parse, validate

from folio_gateway.graphql_api import create_graphql_app
from folio_gateway.graphql_api.limits import cost_limit
from folio_gateway.graphql_api.schema import Limits, build_schema
from folio_gateway.upstream import Upstreams

SCHEMA = build_schema(Limits())._schema


def cost(query: str) -> int:
    errors = validate(SCHEMA, parse(query), [cost_limit(-1)])
    assert errors, "every query costs something"
    return errors[0].extensions["cost"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ categories { id name } }", 10),  # a list without a limit: 10 items of 1
        ('{ posts(category: "a", limit: 5) { total items { id } } }', 5 * (1 + 1)),
        ('{ posts(category: "a") { items { id } } }', 20 * 2),  # the default limit
        # A variable limit counts as the largest allowed (100 posts).
        ('query($n: Int!) { posts(category: "a", limit: $n) { items { id } } }', 100 * 2),
        (
            '{ posts(category: "a", limit: 2) { items { author { name } comments { id } } } }',
            2 * (1 + 1 + 1 + 10),
        ),
        # Fragments and aliases count like the fields they stand for.
        (
            "{ a: categories { ...C } b: categories { ...C } } fragment C on Category { id }",
            20,
        ),
        ("{ __schema { types { name fields { name } } } }", 0),  # introspection is free
    ],
)
def test_the_cost_estimate(query, expected):
    assert cost(query) == expected


def _settings(**overrides):  # type: ignore[no-untyped-def]
    values = {
        "environment": "development",
        "graphql_introspection": None,
        "graphql_max_depth": 10,
        "graphql_max_aliases": 15,
        "graphql_max_tokens": 2000,
        "graphql_max_cost": 5000,
        "graphql_upstream_timeout_s": 5.0,
        **overrides,
    }
    return SimpleNamespace(**values)


@pytest.mark.parametrize(
    ("environment", "setting", "allowed"),
    [
        ("development", None, True),
        ("production", None, False),
        ("production", True, True),
        ("development", False, False),
    ],
)
async def test_introspection_follows_the_environment_unless_configured(
    environment, setting, allowed
):
    app = create_graphql_app(
        _settings(environment=environment, graphql_introspection=setting),
        Upstreams({}),
        metrics=None,  # type: ignore[arg-type]
    )
    result = await app.schema.execute("{ __schema { queryType { name } } }")
    if allowed:
        assert result.errors is None and result.data == {
            "__schema": {"queryType": {"name": "Query"}}
        }
    else:
        assert result.data is None
        assert "introspection" in result.errors[0].message.lower()
