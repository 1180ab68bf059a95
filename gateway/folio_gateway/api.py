"""Gateway routes: the development issuer's JWKS and the catch-all ``/api/v1`` proxy."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from folio.errors import Problem
from folio.identity import InternalTokenSigner
from folio.logging import request_id_var
from folio_gateway.auth import Authenticator
from folio_gateway.dev_issuer import jwks_for
from folio_gateway.proxy import Proxy
from folio_gateway.routes import RouteTable

router = APIRouter()
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@router.get("/dev-issuer/.well-known/jwks.json", include_in_schema=False)
async def dev_issuer_jwks(request: Request) -> JSONResponse:
    public_key = request.app.state.settings.dev_issuer_public_key
    if public_key is None:
        raise Problem(404, "The development issuer is not enabled.")
    return JSONResponse(jwks_for(public_key.get_secret_value()))


@router.api_route("/api/v1/{path:path}", methods=METHODS, include_in_schema=False)
async def forward(request: Request, path: str) -> Response:
    routes: RouteTable = request.app.state.routes
    upstream = routes.upstream_for(request.url.path)
    if upstream is None:
        raise Problem(404, f"No API route matches {request.url.path}.")
    authenticator: Authenticator = request.app.state.authenticator
    signer: InternalTokenSigner | None = request.app.state.signer
    identity = await authenticator.identify(request)
    token = None
    if identity is not None:
        if signer is None:
            raise Problem(503, "The gateway cannot forward identities (no signing key).")
        token = signer.sign(identity, request_id_var.get())
    proxy: Proxy = request.app.state.proxy
    return await proxy.forward(request, upstream, request.app.state.upstreams[upstream], token)
