"""Clerk's webhook: verified with the svix library, applied exactly once per message.

Svix signs ``"{svix-id}.{svix-timestamp}.{body}"`` and the library refuses a bad
signature and a timestamp more than five minutes away. The message id is then claimed
in ``webhook_receipts`` in the same transaction as the change: a replay (an attacker's
or Svix's own retry, which re-signs the same id) changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession
from svix.webhooks import Webhook, WebhookVerificationError

from folio.errors import DomainError, InvalidInput
from folio.identity import Role
from folio.messaging import Outbox
from folio_users.repository import ReceiptRepository
from folio_users.service.users import UserService

log = logging.getLogger(__name__)

SVIX_HEADERS = ("svix-id", "svix-timestamp", "svix-signature")
ROLES: frozenset[str] = frozenset(Role.__args__)  # type: ignore[attr-defined]


class _Email(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str | None = None
    email_address: str


class ClerkUser(BaseModel):
    """The fields of Clerk's user object that user-service keeps."""

    model_config = ConfigDict(extra="ignore")

    id: str
    email_addresses: list[_Email] = []
    primary_email_address_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    public_metadata: dict[str, Any] = {}

    @property
    def email(self) -> str | None:
        for address in self.email_addresses:
            if address.id == self.primary_email_address_id:
                return address.email_address
        return self.email_addresses[0].email_address if self.email_addresses else None

    @property
    def name(self) -> str | None:
        full = " ".join(p for p in (self.first_name, self.last_name) if p).strip()
        return full or self.username or None

    @property
    def role(self) -> str | None:
        role = self.public_metadata.get("role")
        return role if role in ROLES else None


class ClerkWebhook:
    def __init__(self, secret: str | None, retention: timedelta) -> None:
        self._webhook = Webhook(secret) if secret else None
        self.retention = retention

    @property
    def configured(self) -> bool:
        return self._webhook is not None

    def verify(self, body: bytes, headers: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
        """The message id and the event; a bad signature or body is a domain error."""
        if self._webhook is None:
            raise RuntimeError("the webhook secret is not configured")
        wanted = {name: headers.get(name, "") for name in SVIX_HEADERS}
        try:
            self._webhook.verify(body, wanted)
        except WebhookVerificationError as exc:
            raise DomainError(f"Error verifying webhook signature: {exc}") from exc
        try:
            event = json.loads(body)
        except ValueError as exc:
            raise DomainError("The webhook body is not JSON.") from exc
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise InvalidInput("The webhook event has no type.")
        return wanted["svix-id"], event

    async def apply(
        self, session: AsyncSession, outbox: Outbox, message_id: str, event: dict[str, Any]
    ) -> bool:
        """Apply a verified event once; False when this message id was already applied."""
        receipts = ReceiptRepository(session)
        await receipts.purge(self.retention)
        kind: str = event["type"]
        if not await receipts.claim(message_id, kind[:100]):
            log.info("webhook message %s (%s) already applied", message_id, kind)
            return False
        users = UserService(session, outbox)
        data = event.get("data") or {}
        try:
            if kind in ("user.created", "user.updated"):
                user = ClerkUser.model_validate(data)
                await users.sync_from_provider(
                    user.id, email=user.email, name=user.name, role=user.role
                )
            elif kind == "user.deleted":
                user_id = data.get("id") if isinstance(data, dict) else None
                if not isinstance(user_id, str) or not user_id:
                    raise InvalidInput("user.deleted carries no user id.")
                await users.delete(user_id)
            else:
                log.info("webhook event %s ignored", kind)
        except ValidationError as exc:
            raise InvalidInput(
                f"The {kind} event is not a Clerk user: {exc.errors()[0]['msg']}"
            ) from exc
        return True
