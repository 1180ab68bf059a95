"""Small HTTP helpers shared by the protocol modules."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.requests import ClientDisconnect


class Disconnected(Exception):
    """The client went away while the request body was being read."""


async def read_json(request: Request) -> Any:
    """The parsed JSON body, or ``None`` when it is not valid JSON.

    Raises ``Disconnected`` if the client hung up mid-body (a client timeout or a benchmark
    cancelling requests), which is normal here and must not produce a server traceback.
    """
    try:
        return await request.json()
    except ClientDisconnect as exc:
        raise Disconnected from exc
    except ValueError:
        return None


async def read_body(request: Request) -> bytes:
    """The raw body (see ``read_json`` for disconnects)."""
    try:
        return await request.body()
    except ClientDisconnect as exc:
        raise Disconnected from exc


def client_request_id(request: Request) -> str | None:
    """The caller's own id for the call: OpenAI documents ``X-Client-Request-Id`` (ASCII,
    at most 512 characters); the fake logs it for every protocol so a client's records can
    be matched to the calls it made."""
    value = request.headers.get("x-client-request-id")
    return value[:512] if value else None
