from __future__ import annotations

from fastapi import APIRouter, Request

from folio.db import DbSession
from folio.errors import Problem
from folio_users.service import ClerkWebhook

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
MAX_BODY_BYTES = 1024 * 1024


@router.post("/clerk", summary="Clerk's user events (svix-signed)")
async def clerk_webhook(request: Request, session: DbSession) -> dict[str, str]:
    webhook: ClerkWebhook = request.app.state.clerk_webhook
    if not webhook.configured:
        raise Problem(503, "Webhook secret is not configured.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise Problem(413, f"The webhook body is larger than {MAX_BODY_BYTES} bytes.")
    message_id, event = webhook.verify(bytes(body), request.headers)
    applied = await webhook.apply(session, request.app.state.runtime.outbox, message_id, event)
    # A message applied before is answered with success too: Svix retries the same id
    # (re-signed) until it gets a 2xx, so an error here would retry it for days.
    return {"status": "success" if applied else "duplicate"}
