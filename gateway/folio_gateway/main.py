"""Application factory for the gateway."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from folio.app import create_service_app
from folio.http import resilient_client
from folio.identity import InternalTokenSigner
from folio.runtime import ServiceRuntime
from folio_gateway import api
from folio_gateway.auth import Authenticator, JwksCache
from folio_gateway.proxy import Proxy
from folio_gateway.routes import COMMUNITY, DEFAULT_ROUTES, TRANSLATION, USERS
from folio_gateway.settings import GatewaySettings


def _upstream_ready(client: httpx.AsyncClient, url: str):  # type: ignore[no-untyped-def]
    async def check() -> None:
        response = await client.get(url.rstrip("/") + "/readyz", timeout=2.5)
        if response.status_code != 200:
            raise RuntimeError(f"readyz answered {response.status_code}")

    return check


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    runtime = ServiceRuntime(settings, use_broker=False)
    client = resilient_client(timeout_s=settings.upstream_timeout_s, max_connections=500)
    runtime.on_shutdown(client.aclose)
    upstreams = {
        TRANSLATION: settings.upstream_translation_url,
        COMMUNITY: settings.upstream_community_url,
        USERS: settings.upstream_users_url,
    }
    for name, url in upstreams.items():
        runtime.extra_checks[name] = _upstream_ready(client, url)
    if settings.upstream_worker_url:
        runtime.extra_checks["worker-service"] = _upstream_ready(
            client, settings.upstream_worker_url
        )

    app = create_service_app(
        runtime,
        title="Folio API gateway",
        description="Routes /api/v1 to the Folio services.",
        routers=[api.router],
    )
    app.state.settings = settings
    app.state.routes = DEFAULT_ROUTES
    app.state.upstreams = upstreams
    app.state.proxy = Proxy(
        client, max_body_bytes=settings.max_body_bytes, timeout_s=settings.upstream_timeout_s
    )
    app.state.authenticator = Authenticator(
        JwksCache(client, settings.auth_jwks_url, ttl_s=settings.auth_jwks_cache_s),
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        authorized_parties=settings.auth_authorized_parties,
        leeway_s=settings.auth_leeway_s,
    )
    app.state.signer = (
        InternalTokenSigner(
            settings.internal_token_private_key.get_secret_value(),
            issuer=settings.internal_token_issuer,
            audience=settings.internal_token_audience,
            ttl_s=settings.internal_token_ttl_s,
        )
        if settings.internal_token_private_key
        else None
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=["Content-Disposition", "X-Total-Count", "X-Request-ID"],
    )
    return app
