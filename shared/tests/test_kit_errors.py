"""Domain errors raised by services leave the edge as problem+json with their status."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from folio.errors import (
    PROBLEM_JSON,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    NotReady,
    TooLarge,
    UnsupportedType,
    install_problem_handlers,
    status_of,
)


class NoSuchShelf(NotFound):
    """A service's own kind: the closest mapped class decides the status."""


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFound("Job 3 not found."), 404),
        (NoSuchShelf("Shelf 9 not found."), 404),
        (InvalidInput("segment_size must be between 1000 and 50000 characters."), 422),
        (UnsupportedType("Unsupported file type '.exe'."), 415),
        (TooLarge("The file is too large."), 413),
        (Conflict("Only a paused job can be resumed."), 409),
        (NotReady("Translation is not completed yet."), 422),
        (DomainError("Refused."), 400),
    ],
)
async def test_each_domain_error_maps_to_its_status(error: DomainError, status: int) -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/thing")
    async def thing() -> None:
        raise error

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/thing")
    assert status_of(error) == status
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status and body["detail"] == error.detail
    assert body["instance"] == "/thing"
