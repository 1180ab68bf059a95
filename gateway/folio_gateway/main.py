"""Application factory for the gateway.

The FastAPI app (the kit's, with health, readiness, the merged OpenAPI document and the
development issuer) serves everything except ``/api/v1``, which goes straight to the
proxy (``proxy.ApiGateway``, behind CORS) without the framework's middleware stack.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from folio.app import create_service_app
from folio.identity import InternalTokenSigner
from folio.runtime import ServiceRuntime
from folio_gateway import api
from folio_gateway.auth import Authenticator, JwksCache
from folio_gateway.graphql_api import create_graphql_app
from folio_gateway.metrics import GatewayMetrics
from folio_gateway.openapi import MergedOpenApi
from folio_gateway.proxy import ApiGateway
from folio_gateway.ratelimit import RateLimiter
from folio_gateway.routes import DEFAULT_ROUTES
from folio_gateway.settings import GatewaySettings
from folio_gateway.upstream import Upstreams

API_PREFIX = "/api/v1/"
CORS_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
CORS_EXPOSE = [
    "Content-Disposition",
    "X-Total-Count",
    "X-Request-ID",
    "Retry-After",
    "RateLimit",
    "RateLimit-Policy",
    "Last-Event-ID",
]
_PAGE_SECURITY = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


def _readiness(upstreams: Upstreams, url: str):  # type: ignore[no-untyped-def]
    async def check() -> None:
        timeout = aiohttp.ClientTimeout(total=2.5)
        async with upstreams.session.get(url.rstrip("/") + "/readyz", timeout=timeout) as response:
            if response.status != 200:
                raise RuntimeError(f"readyz answered {response.status}")

    return check


def _openapi_fetcher(upstreams: Upstreams):  # type: ignore[no-untyped-def]
    async def fetch(name: str, url: str) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=3.0)
        async with upstreams.session.get(url.rstrip("/") + "/openapi.json", timeout=timeout) as r:
            if r.status != 200:
                raise RuntimeError(f"{name} answered {r.status}")
            return json.loads(await r.read())

    return fetch


class GatewayApp(FastAPI):
    """Sends ``/api/v1/*`` to the proxy ahead of the framework (its telemetry and
    middleware included: the proxy records its own spans and metrics); everything else
    is the kit's FastAPI app."""

    api: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
        elif scope["path"].startswith(API_PREFIX) and self.api is not None:
            await self.api(scope, receive, send)
        else:

            async def send_secured(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), *_PAGE_SECURITY]
                await send(message)

            await super().__call__(scope, receive, send_secured)


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    runtime = ServiceRuntime(settings, use_broker=False)
    upstreams = Upstreams(
        settings.upstream_urls,
        max_connections=settings.upstream_max_connections,
        keepalive_s=settings.upstream_keepalive_s,
        connect_timeout_s=settings.upstream_connect_timeout_s,
        connect_retries=settings.upstream_connect_retries,
        failure_threshold=settings.circuit_failure_threshold,
        cooldown_s=settings.circuit_cooldown_s,
    )
    for name, url in settings.upstream_urls.items():
        runtime.extra_checks[name] = _readiness(upstreams, url)
    if settings.upstream_worker_url:
        runtime.extra_checks["worker-service"] = _readiness(upstreams, settings.upstream_worker_url)
    signer = (
        InternalTokenSigner(
            settings.internal_token_private_key.get_secret_value(),
            issuer=settings.internal_token_issuer,
            audience=settings.internal_token_audience,
            ttl_s=settings.internal_token_ttl_s,
        )
        if settings.internal_token_private_key
        else None
    )
    authenticator = Authenticator(
        JwksCache(
            lambda: upstreams.session,
            settings.auth_jwks_url,
            ttl_s=settings.auth_jwks_cache_s,
            min_refresh_s=settings.auth_jwks_min_refresh_s,
        ),
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        authorized_parties=settings.auth_authorized_parties,
        algorithms=settings.auth_algorithms,
        leeway_s=settings.auth_leeway_s,
        signer=signer,
        internal_ttl_s=settings.internal_token_ttl_s,
        admin_secret=settings.admin_secret.get_secret_value() if settings.admin_secret else None,
    )
    limiter = RateLimiter(
        settings.rate_limits,
        redis_url=settings.redis_url.get_secret_value() if settings.redis_url else None,
        prefix=settings.redis_prefix,
        scale=settings.rate_limit_scale,
    )
    runtime.on_shutdown(upstreams.close)
    runtime.on_shutdown(limiter.close)

    app = create_service_app(
        runtime,
        title="Folio API gateway",
        description="Routes /api/v1 to the Folio services.",
        app_class=GatewayApp,
    )
    assert isinstance(app, GatewayApp)
    # The gateway's description is the merged one of every service, not its own.
    replaced = ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) not in replaced]
    app.include_router(api.router)
    app.state.settings = settings
    app.state.routes = DEFAULT_ROUTES
    app.state.upstreams = upstreams
    app.state.authenticator = authenticator
    app.state.limiter = limiter
    app.state.openapi = MergedOpenApi(
        DEFAULT_ROUTES,
        settings.upstream_urls,
        _openapi_fetcher(upstreams),
        cache_s=settings.openapi_cache_s,
    )
    telemetry = runtime.telemetry
    metrics = GatewayMetrics(telemetry.meter_provider)
    gateway = ApiGateway(
        routes=DEFAULT_ROUTES,
        authenticator=authenticator,
        upstreams=upstreams,
        limiter=limiter,
        metrics=metrics,
        settings=settings,
        tracer=telemetry.tracer_provider.get_tracer("folio.gateway"),
        local_apps={"graphql": create_graphql_app(settings, upstreams, metrics)},
    )
    app.state.gateway = gateway
    cors = {
        "allow_origins": settings.allowed_origins,
        "allow_credentials": True,
        "allow_methods": CORS_METHODS,
        "allow_headers": ["*"],
        "expose_headers": CORS_EXPOSE,
        "max_age": 600,
    }
    app.add_middleware(CORSMiddleware, **cors)
    app.api = CORSMiddleware(gateway, **cors)
    return app
