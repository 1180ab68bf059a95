"""The FastAPI application every service starts from (the eShop "service defaults")."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from folio.errors import install_problem_handlers
from folio.health import health_router
from folio.logging import configure_logging
from folio.middleware import RequestIdMiddleware
from folio.runtime import ServiceRuntime
from folio.telemetry import instrument_fastapi


def create_service_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str = "",
    routers: Sequence[APIRouter] = (),
    version: str = "0.1.0",
    app_class: type[FastAPI] = FastAPI,
) -> FastAPI:
    settings = runtime.settings
    configure_logging(settings.service_name, settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = app_class(title=title, description=description, version=version, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.database = runtime.database
    app.state.identity_verifier = runtime.identity_verifier
    install_problem_handlers(app)
    app.include_router(health_router(runtime.readiness_checks))
    for router in routers:
        app.include_router(router)
    app.add_middleware(RequestIdMiddleware)
    instrument_fastapi(app, runtime.telemetry)
    _tolerate_trailing_slash(app)
    return app


def _tolerate_trailing_slash(app: FastAPI) -> None:
    """Serve ``/jobs/`` like ``/jobs`` (and the other way round) instead of redirecting:
    behind the gateway a redirect would name this service's own address."""
    router = app.router
    router.redirect_slashes = False
    not_found = router.default

    async def default(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path != "/" and "folio.slash" not in scope:
            other = {**scope, "folio.slash": True}
            other["path"] = path[:-1] if path.endswith("/") else path + "/"
            if raw := scope.get("raw_path"):
                other["raw_path"] = raw[:-1] if raw.endswith(b"/") else raw + b"/"
            if any(route.matches(other)[0] is not Match.NONE for route in router.routes):
                await router.app(other, receive, send)
                return
        await not_found(scope, receive, send)

    router.default = default
