"""Liveness and readiness, the same two routes in every service.

``/healthz`` answers as long as the process serves HTTP (restart me if not).
``/readyz`` answers 200 only when every dependency check passes (send me traffic), and
503 problem+json naming the failing checks otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from folio.errors import problem_response

ReadinessCheck = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_S = 3.0


async def _run_check(check: ReadinessCheck) -> str:
    try:
        await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT_S)
        return "ok"
    except TimeoutError:
        return "timeout"
    except Exception as exc:
        return f"failed: {type(exc).__name__}: {exc}"[:300]


async def run_checks(checks: Mapping[str, ReadinessCheck]) -> dict[str, str]:
    names = list(checks)
    results = await asyncio.gather(*(_run_check(checks[name]) for name in names))
    return dict(zip(names, results, strict=True))


def health_router(checks: Callable[[], Mapping[str, ReadinessCheck]]) -> APIRouter:
    router = APIRouter(tags=["health"])

    # HEAD too: load balancers and uptime checkers probe with it.
    @router.api_route("/healthz", methods=["GET", "HEAD"], include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.api_route("/readyz", methods=["GET", "HEAD"], include_in_schema=False)
    async def readyz() -> JSONResponse:
        results = await run_checks(checks())
        if all(result == "ok" for result in results.values()):
            return JSONResponse({"status": "ready", "checks": results})
        failing = ", ".join(name for name, result in results.items() if result != "ok")
        return problem_response(503, f"Not ready: {failing}", checks=results)

    return router
