"""One OpenAPI 3.1 document for the whole API, merged from the services' own documents.

Each service publishes ``/openapi.json``; the gateway fetches them at run time (cached
for ``openapi_cache_s``; a service that cannot be reached contributes its last known
document, or is listed under ``x-folio-unavailable``), keeps the operations it routes to
that service (paths are already the ones clients call through the gateway), and adds what
the gateway itself decides: the security schemes and each operation's security from the
route table, and the problem+json answers the gateway can give (401, 403, 413, 429, 502,
503, 504). Services' 422 answers are documented as the problem+json they really are.
Schema names that two services define differently are prefixed with the service's name.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from folio_gateway.routes import Auth, RouteTable

log = logging.getLogger(__name__)
SCHEMA_REF = "#/components/schemas/"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
Fetch = Callable[[str, str], Awaitable[dict[str, Any]]]

SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A Clerk session token (or one minted by the development issuer).",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "__session",
        "description": "Clerk's session cookie, for browsers on the same site.",
    },
    "adminSecret": {
        "type": "apiKey",
        "in": "header",
        "name": "x-admin-secret",
        "description": "The operators' secret (the upstream's); announcement changes only.",
    },
}
PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details: every error Folio answers.",
    "properties": {
        "type": {"type": "string", "default": "about:blank"},
        "title": {"type": "string", "examples": ["Not Found"]},
        "status": {"type": "integer", "examples": [404]},
        "detail": {"type": "string", "examples": ["Job 7 was not found."]},
        "instance": {"type": "string", "examples": ["/api/v1/jobs/7"]},
        "request_id": {"type": "string", "description": "Quote it when reporting a problem."},
    },
    "required": ["type", "title", "status", "detail"],
}
VALIDATION_PROBLEM_SCHEMA = {
    "allOf": [
        {"$ref": "#/components/schemas/Problem"},
        {
            "type": "object",
            "properties": {
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string"},
                            "message": {"type": "string"},
                        },
                        "required": ["field", "message"],
                    },
                }
            },
        },
    ]
}


def _problem_response(
    description: str, headers: dict | None = None, schema: str = "Problem"
) -> dict:
    response: dict[str, Any] = {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
        },
    }
    if headers:
        response["headers"] = headers
    return response


_RETRY_AFTER = {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
GATEWAY_RESPONSES = {
    "Unauthenticated": _problem_response(
        "No valid token (the WWW-Authenticate header says why).",
        {"WWW-Authenticate": {"schema": {"type": "string"}}},
    ),
    "Forbidden": _problem_response("The caller may not do this."),
    "PayloadTooLarge": _problem_response("The request body is larger than the route allows."),
    "TooManyRequests": _problem_response(
        "A rate limit was exceeded.",
        {
            "Retry-After": _RETRY_AFTER,
            "RateLimit": {"schema": {"type": "string"}, "description": "Remaining quota."},
            "RateLimit-Policy": {"schema": {"type": "string"}, "description": "The quota."},
        },
    ),
    "ValidationFailed": _problem_response(
        "The request was malformed; ``errors`` lists each problem.", schema="ValidationProblem"
    ),
    "BadGateway": _problem_response("The service answered with an invalid response."),
    "ServiceUnavailable": _problem_response(
        "The service is unavailable.", {"Retry-After": _RETRY_AFTER}
    ),
    "GatewayTimeout": _problem_response("The service did not answer in time."),
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMA_REF):
                name = value.rsplit("/", 1)[1]
                out[key] = f"#/components/schemas/{renames.get(name, name)}"
            else:
                out[key] = _rename_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def _refs_in(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMA_REF):
                found.add(value.rsplit("/", 1)[1])
            else:
                _refs_in(value, found)
    elif isinstance(node, list):
        for item in node:
            _refs_in(item, found)


def _pascal(service: str) -> str:
    return "".join(part.capitalize() for part in service.replace("_", "-").split("-"))


def merge_documents(
    routes: RouteTable,
    documents: dict[str, dict[str, Any]],
    *,
    title: str = "Folio API",
    version: str = "1.0.0",
    unavailable: list[str] | None = None,
) -> dict[str, Any]:
    """The merged document (pure: no I/O, so it is tested directly)."""
    schemas: dict[str, Any] = {
        "Problem": PROBLEM_SCHEMA,
        "ValidationProblem": VALIDATION_PROBLEM_SCHEMA,
    }
    paths: dict[str, dict[str, Any]] = {}
    tags: dict[str, dict[str, Any]] = {}
    operation_ids: set[str] = set()
    for service in sorted(documents):
        document = copy.deepcopy(documents[service])
        renames: dict[str, str] = {}
        own = document.get("components", {}).get("schemas", {})
        for name, schema in own.items():
            if name in schemas and schemas[name] != schema:
                renames[name] = f"{_pascal(service)}{name}"
        document = _rename_refs(document, renames)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(renames.get(name, name), schema)
        for tag in document.get("tags", []):
            tags.setdefault(tag["name"], tag)
        for path, item in document.get("paths", {}).items():
            if routes.service_for(path) != service:
                continue  # not routed to this service: clients cannot reach it
            target = paths.setdefault(path, {})
            for key, value in item.items():
                if key not in METHODS:
                    target.setdefault(key, value)  # path-level parameters, summary
                    continue
                target[key] = _gateway_operation(
                    routes, service, key.upper(), path, value, operation_ids
                )
    used: set[str] = set()
    _refs_in(paths, used)
    _refs_in(GATEWAY_RESPONSES, used)
    pending = list(used)
    while pending:  # keep what the operations reach, transitively
        found: set[str] = set()
        _refs_in(schemas.get(pending.pop(), {}), found)
        for name in found - used:
            used.add(name)
            pending.append(name)
    paths.update(_gateway_paths())
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "Every Folio operation, as clients call it through the gateway. Errors are "
                "`application/problem+json` (RFC 9457) and carry the request id."
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {name: schemas[name] for name in sorted(schemas) if name in used},
            "responses": GATEWAY_RESPONSES,
            "securitySchemes": SECURITY_SCHEMES,
        },
        "tags": [
            *sorted(tags.values(), key=lambda t: t["name"]),
            {"name": "gateway"},
            {"name": "graphql"},
        ],
    }
    if unavailable:
        merged["x-folio-unavailable"] = sorted(unavailable)
    return merged


def _gateway_operation(
    routes: RouteTable,
    service: str,
    method: str,
    path: str,
    operation: dict[str, Any],
    operation_ids: set[str],
) -> dict[str, Any]:
    route = routes.match(method, path)
    operation["x-folio-service"] = service
    op_id = operation.get("operationId")
    if op_id:
        if op_id in operation_ids:
            op_id = f"{op_id}_{service.replace('-', '_')}"
            operation["operationId"] = op_id
        operation_ids.add(op_id)
    responses = operation.setdefault("responses", {})
    if "422" in responses:
        responses["422"] = _ref("ValidationFailed")
    auth = route.auth if route else Auth.USER
    security: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"sessionCookie": []}]
    if route is not None and route.admin_secret:
        security.append({"adminSecret": []})
        responses.setdefault("403", _ref("Forbidden"))
    if auth is Auth.PUBLIC:
        security.insert(0, {})
    else:
        responses.setdefault("401", _ref("Unauthenticated"))
    operation["security"] = security
    if "requestBody" in operation:
        responses.setdefault("413", _ref("PayloadTooLarge"))
    responses.setdefault("429", _ref("TooManyRequests"))
    responses.setdefault("502", _ref("BadGateway"))
    responses.setdefault("503", _ref("ServiceUnavailable"))
    responses.setdefault("504", _ref("GatewayTimeout"))
    return operation


def _gateway_paths() -> dict[str, Any]:
    def health(summary: str, description: str, op: str) -> dict[str, Any]:
        ok = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
        operation = {
            "tags": ["gateway"],
            "summary": summary,
            "description": description,
            "security": [{}],
            "responses": {"200": ok},
        }
        if op == "readyz":
            operation["responses"]["503"] = _problem_response("Some service is not ready.")
        return {
            "get": {**operation, "operationId": f"{op}_get"},
            "head": {**operation, "operationId": f"{op}_head"},
        }

    return {
        "/api/v1/graphql": _graphql_path(),
        "/healthz": health(
            "The gateway is alive", "Never depends on the services behind it.", "healthz"
        ),
        "/readyz": health("Every service is ready", "Each service's readiness, by name.", "readyz"),
    }


GRAPHQL_EXAMPLE = (
    'query { me { name } posts(category: "free", limit: 5) '
    "{ total items { id title author { name } comments { content } } } }"
)


def _graphql_path() -> dict[str, Any]:
    """The gateway's own GraphQL read API (its schema: introspection, in development)."""
    answer = {
        "description": (
            "The GraphQL answer: `data`, and `errors` for what failed or was refused (a "
            "query past the depth, alias, token or cost limits is refused whole, "
            "`extensions.code` says why); `extensions.upstreamCalls` counts the service "
            "calls it took."
        ),
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "data": {"type": ["object", "null"]},
                        "errors": {"type": "array", "items": {"type": "object"}},
                        "extensions": {"type": "object"},
                    },
                }
            }
        },
    }
    common = {
        "tags": ["graphql"],
        "x-folio-service": "gateway",
        "security": [{}, {"bearerAuth": []}, {"sessionCookie": []}],
        "description": (
            "Read-only: your jobs with their segments and usage, the board's categories, "
            "posts and comments, you and your token usage, announcements. Every field is "
            "resolved through the services' own routes as you, so it shows exactly what "
            "they would show you. See docs/gateway.md."
        ),
    }
    errors = {
        "400": {"description": "Not a GraphQL request (no query, or a body that is not JSON)."},
        "413": _ref("PayloadTooLarge"),
        "429": _ref("TooManyRequests"),
        "502": _ref("BadGateway"),
        "503": _ref("ServiceUnavailable"),
        "504": _ref("GatewayTimeout"),
    }
    return {
        "get": {
            **common,
            "operationId": "graphql_get",
            "summary": "Run a GraphQL query (query string)",
            "parameters": [
                {"name": "query", "in": "query", "required": True, "schema": {"type": "string"}},
                {"name": "variables", "in": "query", "schema": {"type": "string"}},
                {"name": "operationName", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {"200": answer, **errors},
        },
        "post": {
            **common,
            "operationId": "graphql_post",
            "summary": "Run a GraphQL query",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["query"],
                            "properties": {
                                "query": {"type": "string", "examples": [GRAPHQL_EXAMPLE]},
                                "variables": {"type": ["object", "null"]},
                                "operationName": {"type": ["string", "null"]},
                            },
                        }
                    }
                },
            },
            "responses": {"200": answer, **errors},
        },
    }


class MergedOpenApi:
    """The merged document, rebuilt from the services at most every ``cache_s``."""

    def __init__(
        self,
        routes: RouteTable,
        services: dict[str, str],
        fetch: Fetch,
        *,
        cache_s: float = 30.0,
        version: str = "1.0.0",
    ) -> None:
        self.routes = routes
        self.services = services
        self.fetch = fetch
        self.cache_s = cache_s
        self.version = version
        self._last_good: dict[str, dict[str, Any]] = {}
        self._document: dict[str, Any] | None = None
        self._built_at = -float("inf")
        self._lock = asyncio.Lock()

    async def document(self) -> dict[str, Any]:
        if self._document is not None and time.monotonic() - self._built_at < self.cache_s:
            return self._document
        async with self._lock:
            if self._document is not None and time.monotonic() - self._built_at < self.cache_s:
                return self._document
            names = sorted(self.services)
            results = await asyncio.gather(
                *(self.fetch(name, self.services[name]) for name in names), return_exceptions=True
            )
            unavailable = []
            for name, result in zip(names, results, strict=True):
                if isinstance(result, BaseException):
                    log.warning("OpenAPI of %s unavailable: %s", name, result)
                    if name not in self._last_good:
                        unavailable.append(name)
                else:
                    self._last_good[name] = result
            self._document = merge_documents(
                self.routes, self._last_good, version=self.version, unavailable=unavailable
            )
            # A document missing a service is rebuilt sooner.
            self._built_at = time.monotonic() - (self.cache_s * 0.8 if unavailable else 0)
            return self._document
