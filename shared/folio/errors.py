"""RFC 9457 problem details (``application/problem+json``) for every error response.

Services raise domain errors (:class:`DomainError` and its kinds: not found, invalid
input, conflict...), which say what went wrong in the service's terms; the edge maps each
kind to its HTTP status here (``DOMAIN_STATUS``). Routes and request parsing may raise
:class:`Problem` (or FastAPI's ``HTTPException``) directly. Validation errors and
unexpected exceptions are turned into problem documents too, so a client never sees an
HTML page or a bare 500 with a stack trace.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from folio.logging import request_id_var

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class Problem(Exception):
    """An error with an HTTP status and a message meant for the client."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        type_: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.type = type_
        self.headers = headers or {}
        self.extensions = extensions


class DomainError(Exception):
    """A business rule refused the request; ``detail`` is meant for the client."""

    def __init__(
        self, detail: str, *, headers: dict[str, str] | None = None, **extensions: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers
        self.extensions = extensions


class NotFound(DomainError):
    """No such thing, or the caller may not know it exists."""


class InvalidInput(DomainError):
    """A value the caller supplied breaks a rule."""


class UnsupportedType(DomainError):
    """The caller supplied a kind of content the service does not handle."""


class TooLarge(DomainError):
    """The caller supplied more than the service accepts."""


class Forbidden(DomainError):
    """The caller is known but may not do this (or see this)."""


class Conflict(DomainError):
    """The thing's current state does not allow this (e.g. resuming a running job)."""


class NotReady(DomainError):
    """What was asked for does not exist yet (e.g. the download of an unfinished job)."""


class UpstreamFailed(DomainError):
    """Another part of the system (or the model provider) failed to answer properly."""


class Unavailable(DomainError):
    """What was asked for cannot be done right now (busy); try again later."""


class TimedOut(DomainError):
    """What was asked for took longer than the service waits."""


class QuotaExceeded(DomainError):
    """The caller's allowance is spent for now (say how much is left and when it renews)."""


# The edge's mapping from domain errors to HTTP statuses (the closest class wins).
DOMAIN_STATUS: dict[type[DomainError], int] = {
    DomainError: 400,
    NotFound: 404,
    InvalidInput: 422,
    UnsupportedType: 415,
    TooLarge: 413,
    Forbidden: 403,
    Conflict: 409,
    NotReady: 422,  # the upstream answers 422 for a result that is not there yet
    UpstreamFailed: 502,
    Unavailable: 503,
    TimedOut: 504,
    QuotaExceeded: 429,
}


def status_of(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]  # type: ignore[index]
    return 400


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    type_: str = "about:blank",
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if request_id := request_id_var.get():
        body["request_id"] = request_id
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation_detail(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors = []
    for err in exc.errors():
        location = ".".join(str(part) for part in err.get("loc", ()) if part != "body")
        errors.append({"field": location or "body", "message": err.get("msg", "invalid")})
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return f"Invalid request: {summary}", errors


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error leave the service as problem+json."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status,
            exc.detail,
            title=exc.title,
            type_=exc.type,
            instance=request.url.path,
            headers=exc.headers,
            **exc.extensions,
        )

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(
            status_of(exc),
            exc.detail,
            instance=request.url.path,
            headers=exc.headers,
            **exc.extensions,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem_response(
            exc.status_code,
            detail,
            instance=request.url.path,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail, errors = _validation_detail(exc)
        return problem_response(422, detail, instance=request.url.path, errors=errors)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500,
            "The server failed to handle this request; it has been logged.",
            instance=request.url.path,
        )
