"""The upstream contract, walked: every translation-side operation of the upstream OpenAPI
(copied in ``tests/contract/upstream-openapi.json``) is served through the gateway with the
same method, path, parameter names and request fields, and answers with the upstream's
field names. The only allowed exceptions are the **Pending** rows of the translation
sections of ``docs/api-compatibility.md`` (the one place deviations are listed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from folio_gateway.routes import DEFAULT_ROUTES, TRANSLATION

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM = json.loads((ROOT / "tests/contract/upstream-openapi.json").read_text())


def pending() -> list[str]:
    """Operations (``METHOD /path`` or ``/path/*``) the compatibility page lists as pending."""
    entries: list[str] = []
    section = ""
    for line in (ROOT / "docs/api-compatibility.md").read_text().splitlines():
        if line.startswith("## "):
            section = line
        elif section.startswith("## Translation") and line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if cells[1].startswith("**Pending**"):
                entries += re.findall(r"`([^`]+)`", cells[0])
    return entries


def is_pending(method: str, path: str, entries: list[str]) -> bool:
    for entry in entries:
        if entry.endswith("/*") and path.startswith(entry[:-1]):
            return True
        if entry == f"{method.upper()} {path}":
            return True
    return False


def translation_operations() -> list[tuple[str, str, dict]]:
    return [
        (method, path, op)
        for path, ops in UPSTREAM["paths"].items()
        for method, op in ops.items()
        if (route := DEFAULT_ROUTES.match(method.upper(), path)) and route.service == TRANSLATION
    ]


def resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def properties(spec: dict, schema: dict | None) -> set[str]:
    """Property names of a schema, through refs, arrays and unions."""
    if not schema:
        return set()
    schema = resolve(spec, schema)
    names = set(schema.get("properties", {}))
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            names |= properties(spec, part)
    if schema.get("type") == "array":
        names |= properties(spec, schema.get("items"))
    return names


def body_schema(spec: dict, op: dict) -> tuple[dict | None, set[str]]:
    content = (op.get("requestBody") or {}).get("content") or {}
    for media in ("multipart/form-data", "application/json"):
        if media in content:
            schema = resolve(spec, content[media].get("schema") or {})
            for part in schema.get("anyOf", []):  # an optional body: (the model) | null
                if "$ref" in part:
                    schema = resolve(spec, part)
            return schema, set(schema.get("required", []))
    return None, set()


def json_schema(response: dict) -> dict | None:
    return ((response.get("content") or {}).get("application/json") or {}).get("schema")


@pytest.fixture(scope="module")
async def ours(stack) -> dict:
    async with httpx.AsyncClient(base_url=stack.config.url("translation-service")) as client:
        return (await client.get("/openapi.json")).json()


OPERATIONS = translation_operations()


def test_the_walk_covers_the_translation_side() -> None:
    assert len(OPERATIONS) >= 30
    assert ("get", "/api/v1/jobs/{job_id}/segments") in {(m, p) for m, p, _ in OPERATIONS}


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS, ids=lambda v: str(v)[:60])
async def test_each_operation_is_served_with_the_upstream_contract(
    ours, gateway, method: str, path: str, op: dict
) -> None:
    if is_pending(method, path, pending()):
        return  # listed, with its reason, in docs/api-compatibility.md
    mine = ours["paths"].get(path, {}).get(method)
    assert mine is not None, f"{method.upper()} {path} is not served and not listed as pending"
    their_params = {p["name"] for p in op.get("parameters", [])}
    my_params = {p["name"] for p in mine.get("parameters", [])}
    assert their_params <= my_params, (path, their_params - my_params)
    their_body, their_required = body_schema(UPSTREAM, op)
    my_body, my_required = body_schema(ours, mine)
    if their_body is not None:
        assert my_body is not None, f"{path} takes no body"
        missing = set(their_body.get("properties", {})) - set(my_body.get("properties", {}))
        assert not missing, (path, missing)
        assert my_required <= their_required, (path, my_required - their_required)
    ok = next((r for code, r in op["responses"].items() if code.startswith("2")), {})
    their_fields = properties(
        UPSTREAM, (ok.get("content") or {}).get("application/json", {}).get("schema")
    )
    if their_fields:
        mine_ok = next(r for code, r in mine["responses"].items() if code.startswith("2"))
        my_fields = properties(ours, json_schema(mine_ok))
        assert their_fields <= my_fields, (path, their_fields - my_fields)

    # And through the gateway: the route exists (anonymous, a job that does not exist).
    url = re.sub(r"\{[^}]+\}", "1", path)
    response = await gateway.request(method.upper(), url)
    assert response.status_code != 405, (method, url)
    assert response.status_code < 500, (method, url, response.text)
    assert response.headers["content-type"].startswith(
        ("application/problem+json", "application/json")
    )
    if response.status_code == 404:
        assert response.json()["detail"] != "Not Found", f"{method.upper()} {url} has no route"
