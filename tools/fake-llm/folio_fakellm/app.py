"""FastAPI application factory: protocol routers plus health and ``/_fake`` introspection."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response

from folio_fakellm import anthropic_api, gemini_api, openai_api
from folio_fakellm._http import Disconnected
from folio_fakellm.core import Engine
from folio_fakellm.faults import parse_fault
from folio_fakellm.flavours import FlavourPrefix
from folio_fakellm.settings import FakeLLMSettings


def create_app(settings: FakeLLMSettings | None = None) -> FastAPI:
    """Build an app with its own state (counters, log, tokens); settings default to env."""
    settings = settings or FakeLLMSettings()
    app = FastAPI(title="Folio fake LLM", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = Engine(settings)
    app.include_router(openai_api.router)
    app.include_router(gemini_api.router)
    app.include_router(anthropic_api.router)
    app.add_middleware(FlavourPrefix)

    @app.exception_handler(Disconnected)
    async def client_gone(request: Request, exc: Disconnected) -> Response:
        # nobody is listening; 499 is nginx's "client closed request" convention
        return Response(status_code=499)

    def engine_of(request: Request) -> Engine:
        engine: Engine = request.app.state.engine
        return engine

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/_fake/stats")
    async def stats(request: Request) -> dict[str, Any]:
        return engine_of(request).stats.snapshot()

    @app.get("/_fake/requests")
    async def requests_log(
        request: Request,
        limit: int | None = Query(default=None, ge=0),
        offset: int = Query(default=0, ge=0),
    ) -> JSONResponse:
        return JSONResponse(engine_of(request).stats.logged(offset=offset, limit=limit))

    @app.post("/_fake/faults")
    async def add_fault(request: Request) -> JSONResponse:
        """``{"source_contains": "...", "fault": "echo"}``: that fault for every request
        whose text to translate contains the string, until ``DELETE /_fake/faults``."""
        body = await request.json()
        needle = body.get("source_contains") if isinstance(body, dict) else None
        fault = parse_fault(str(body.get("fault", ""))) if isinstance(body, dict) else None
        if not isinstance(needle, str) or not needle or fault is None:
            return JSONResponse(
                {"detail": "source_contains (a non-empty string) and a known fault are needed"},
                status_code=422,
            )
        engine_of(request).source_faults.add(needle, fault)
        return JSONResponse({"status": "added"})

    @app.delete("/_fake/faults")
    async def clear_faults(request: Request) -> dict[str, str]:
        engine_of(request).source_faults.clear()
        return {"status": "cleared"}

    @app.post("/_fake/reset")
    async def reset(request: Request) -> dict[str, str]:
        engine_of(request).reset()
        return {"status": "reset"}

    return app
