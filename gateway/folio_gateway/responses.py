"""Responses the gateway writes itself, as plain ASGI messages (no framework objects on
the hot path): problem+json errors (RFC 9457) carrying the request id."""

from __future__ import annotations

import json
from http import HTTPStatus

from starlette.types import Send

from folio.errors import PROBLEM_JSON

_PROBLEM_TYPE = PROBLEM_JSON.encode()


def problem_body(status: int, detail: str, instance: str, request_id: str | None) -> bytes:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if request_id:
        body["request_id"] = request_id
    return json.dumps(body, ensure_ascii=False).encode()


async def send_problem(
    send: Send,
    status: int,
    detail: str,
    *,
    instance: str,
    request_id: str | None,
    headers: list[tuple[bytes, bytes]],
    head: bool = False,
) -> int:
    body = problem_body(status, detail, instance, request_id)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", _PROBLEM_TYPE),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})
    return status
