"""JSON Schemas of the structured outputs and API shapes (public, as upstream)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from folio.errors import NotFound
from folio_translation.core_schemas import CORE, backend_schemas, core_schemas

router = APIRouter(prefix="/schemas", tags=["schemas"])


@router.get("/core", summary="Every core schema, by name")
async def get_core_schemas() -> dict[str, Any]:
    return core_schemas()


@router.get("/core/{schema_name}", summary="One core schema")
async def get_core_schema(schema_name: str) -> dict[str, Any]:
    model = CORE.get(schema_name)
    if model is None:
        raise NotFound(f"Schema '{schema_name}' not found. Available schemas: {sorted(CORE)}")
    return model.model_json_schema()


@router.get("/backend", summary="The translation-side API shapes, by name")
async def get_backend_schemas() -> dict[str, Any]:
    return backend_schemas()
