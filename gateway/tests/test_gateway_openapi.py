"""The merged OpenAPI document, built from the services' own documents."""

from __future__ import annotations

import copy

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from folio_gateway.openapi import METHODS, MergedOpenApi, merge_documents
from folio_gateway.routes import DEFAULT_ROUTES, Auth


@pytest.fixture(scope="module")
def service_documents() -> dict[str, dict]:
    """What each service publishes at /openapi.json (its app, not a copy of it)."""
    from folio_community.main import create_app as community
    from folio_translation.main import create_app as translation
    from folio_users.main import create_app as users

    return {
        "translation-service": translation().openapi(),
        "community-service": community().openapi(),
        "user-service": users().openapi(),
    }


def operations(document: dict):  # type: ignore[no-untyped-def]
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


def concrete(path: str) -> str:
    return path.replace("{", "").replace("}", "")


def test_the_merged_document_is_valid_openapi_3_1(service_documents):
    merged = merge_documents(DEFAULT_ROUTES, service_documents)
    assert merged["openapi"] == "3.1.0"
    validate(merged)


def test_it_covers_every_operation_the_services_publish_as_clients_call_it(service_documents):
    merged = merge_documents(DEFAULT_ROUTES, service_documents)
    published = {
        (method, path): name
        for name, document in service_documents.items()
        for method, path, _ in operations(document)
        if path.startswith("/api/v1/")
    }
    assert published, "the services publish operations"
    found = {
        (method, path): operation.get("x-folio-service")
        for method, path, operation in operations(merged)
    }
    for key, service in published.items():
        assert found.get(key) == service, key
    # And nothing in it is unreachable: every operation routes to the service named.
    for (method, path), service in found.items():
        if path in ("/healthz", "/readyz"):
            continue
        route = DEFAULT_ROUTES.match(method, concrete(path))
        assert route is not None and route.service == service, (method, path)


def test_security_and_problem_answers_follow_the_route_table(service_documents):
    merged = merge_documents(DEFAULT_ROUTES, service_documents)
    schemes = merged["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["sessionCookie"] == {
        **schemes["sessionCookie"],
        "in": "cookie",
        "name": "__session",
    }
    assert "Problem" in merged["components"]["schemas"]
    for method, path, operation in operations(merged):
        if path in ("/healthz", "/readyz"):
            continue
        route = DEFAULT_ROUTES.match(method, concrete(path))
        responses = operation["responses"]
        for status in ("429", "502", "503", "504"):
            assert status in responses, (method, path, status)
        if route.auth is Auth.PUBLIC:
            assert {} in operation["security"]
        else:
            assert {} not in operation["security"] and "401" in responses
        if "422" in responses:
            assert responses["422"] == {"$ref": "#/components/responses/ValidationFailed"}
    problem = merged["components"]["responses"]["ServiceUnavailable"]["content"]
    assert "application/problem+json" in problem


def test_schema_names_two_services_define_differently_are_kept_apart():
    def document(description: str, path: str) -> dict:
        return {
            "openapi": "3.1.0",
            "info": {"title": "x", "version": "1"},
            "paths": {
                path: {
                    "get": {
                        "operationId": "read",
                        "responses": {
                            "200": {
                                "description": "ok",
                                "content": {
                                    "application/json": {
                                        "schema": {"$ref": "#/components/schemas/Item"}
                                    }
                                },
                            }
                        },
                    }
                }
            },
            "components": {"schemas": {"Item": {"type": "object", "description": description}}},
        }

    merged = merge_documents(
        DEFAULT_ROUTES,
        {
            "community-service": document("a post", "/api/v1/community/posts"),
            "user-service": document("a user", "/api/v1/users/me"),
        },
    )
    validate(merged)
    schemas = merged["components"]["schemas"]
    assert schemas["Item"]["description"] == "a post"
    assert schemas["UserServiceItem"]["description"] == "a user"
    ref = merged["paths"]["/api/v1/users/me"]["get"]["responses"]["200"]["content"]
    assert ref["application/json"]["schema"]["$ref"] == "#/components/schemas/UserServiceItem"
    ids = {op["operationId"] for _, _, op in operations(merged)}
    assert len(ids) == len(list(operations(merged)))  # still unique


def test_operations_a_service_publishes_outside_its_routes_are_left_out(service_documents):
    documents = copy.deepcopy(service_documents)
    documents["user-service"]["paths"]["/api/v1/jobs/hidden"] = {
        "get": {"responses": {"200": {"description": "ok"}}}
    }
    merged = merge_documents(DEFAULT_ROUTES, documents)
    assert "/api/v1/jobs/hidden" not in merged["paths"]


async def test_a_service_that_cannot_be_reached_is_named_and_the_rest_is_served(
    service_documents,
):
    calls: list[str] = []

    async def fetch(name: str, url: str) -> dict:
        calls.append(name)
        if name == "community-service":
            raise ConnectionError("down")
        return service_documents[name]

    merged = MergedOpenApi(
        DEFAULT_ROUTES,
        {name: f"http://{name}" for name in service_documents},
        fetch,
        cache_s=60,
    )
    document = await merged.document()
    validate(document)
    assert document["x-folio-unavailable"] == ["community-service"]
    assert "/api/v1/jobs" in document["paths"]
    assert not any(path.startswith("/api/v1/community/categories") for path in document["paths"])
    assert await merged.document() is document  # cached
    assert len(calls) == 3


def test_the_validator_would_catch_a_broken_document(service_documents):
    merged = merge_documents(DEFAULT_ROUTES, service_documents)
    merged["paths"]["/api/v1/jobs"]["post"]["responses"]["200"] = {"content": "nonsense"}
    with pytest.raises(OpenAPIValidationError):
        validate(merged)


def test_the_graphql_api_is_described_as_the_gateway_s_own_operation(service_documents):
    merged = merge_documents(DEFAULT_ROUTES, service_documents)
    graphql = merged["paths"]["/api/v1/graphql"]
    assert set(graphql) == {"get", "post"}
    for method, operation in graphql.items():
        route = DEFAULT_ROUTES.match(method.upper(), "/api/v1/graphql")
        assert route is not None and route.local == "graphql"
        assert operation["x-folio-service"] == route.service == "gateway"
        assert {} in operation["security"]  # anonymous callers too
    body = graphql["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["query"]
    # The batch read the GraphQL API relies on is published and public.
    batch = merged["paths"]["/api/v1/community/posts/batch"]["get"]
    assert batch["x-folio-service"] == "community-service" and {} in batch["security"]
