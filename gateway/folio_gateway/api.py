"""The gateway's own routes: the merged API description, its docs page, and the
development issuer's JWKS. (``/api/v1`` is not here: see ``proxy.py``.)"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from folio.errors import Problem
from folio_gateway.dev_issuer import jwks_for
from folio_gateway.openapi import MergedOpenApi

router = APIRouter()


@router.get("/dev-issuer/.well-known/jwks.json", include_in_schema=False)
async def dev_issuer_jwks(request: Request) -> JSONResponse:
    public_key = request.app.state.settings.dev_issuer_public_key
    if public_key is None:
        raise Problem(404, "The development issuer is not enabled.")
    return JSONResponse(jwks_for(public_key.get_secret_value()))


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> JSONResponse:
    merged: MergedOpenApi = request.app.state.openapi
    return JSONResponse(await merged.document())


@router.get("/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Folio API")


@router.get("/", include_in_schema=False)
async def root() -> dict[str, str]:
    # The upstream answered its root with a greeting; clients that check it keep working.
    return {"message": "Folio API", "docs": "/docs", "openapi": "/openapi.json"}
