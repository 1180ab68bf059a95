"""The FastAPI application every service starts from (the eShop "service defaults")."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from folio.errors import install_problem_handlers
from folio.health import health_router
from folio.logging import configure_logging
from folio.middleware import RequestIdMiddleware, TrailingSlashMiddleware
from folio.runtime import ServiceRuntime
from folio.telemetry import instrument_fastapi


def create_service_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str = "",
    routers: Sequence[APIRouter] = (),
    version: str = "0.1.0",
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

    # Never redirect between "/x" and "/x/": behind the gateway the redirect would name the
    # service's internal address. TrailingSlashMiddleware serves both forms instead.
    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.state.runtime = runtime
    app.state.database = runtime.database
    app.state.identity_verifier = runtime.identity_verifier
    install_problem_handlers(app)
    app.include_router(health_router(runtime.readiness_checks))
    for router in routers:
        app.include_router(router)
    app.add_middleware(TrailingSlashMiddleware, routes=app.router.routes)
    app.add_middleware(RequestIdMiddleware)
    instrument_fastapi(app, runtime.telemetry)
    return app
