"""User rules: just-in-time provisioning from the verified identity, with events."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import UserCreated, UserUpdated
from folio.identity import Identity
from folio.messaging import Outbox
from folio_users.models import User
from folio_users.repository import UserRepository


class UserService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.users = UserRepository(session)
        self.outbox = outbox

    async def current_user(self, identity: Identity) -> User:
        """The caller's user row, created or refreshed from the identity's claims."""
        user = await self.users.by_external_id(identity.user_id, for_update=True)
        if user is None:
            created = await self.users.insert_if_absent(
                User(
                    clerk_user_id=identity.user_id,
                    email=identity.email,
                    name=identity.name,
                    role=identity.role,
                )
            )
            if created:
                await self.outbox.add(
                    self.session,
                    UserCreated(
                        user_id=identity.user_id,
                        name=identity.name,
                        email=identity.email,
                        role=identity.role,
                    ),
                )
            user = await self.users.by_external_id(identity.user_id, for_update=True)
            assert user is not None
            return user
        changed = False
        for field, value in (
            ("email", identity.email),
            ("name", identity.name),
            ("role", identity.role),
        ):
            if value is not None and getattr(user, field) != value:
                setattr(user, field, value)
                changed = True
        if changed:
            user.updated_at = datetime.now(UTC)
            self.session.add(user)
            await self.outbox.add(
                self.session,
                UserUpdated(
                    user_id=user.clerk_user_id, name=user.name, email=user.email, role=user.role
                ),
            )
        return user
