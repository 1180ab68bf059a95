"""Users: created just in time from the gateway's identity, synced by Clerk's webhook,
roles from token claims or administrators, and ``users.user.*`` events for the others.

A read writes nothing unless something changed: the common request is one ``SELECT``.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import UserCreated, UserDeleted, UserUpdated
from folio.errors import Conflict, Forbidden, NotFound
from folio.identity import ADMIN_ROLES, Identity
from folio.messaging import Outbox
from folio_users.models import User
from folio_users.repository import UsageRepository, UserRepository

# Only a super administrator may make or unmake administrators.
PRIVILEGED_ROLES = frozenset({"admin", "super_admin"})


def default_name(user_id: str, email: str | None) -> str:
    """The upstream's fallback: the e-mail's local part, else ``user_<last 8 of id>``."""
    if email and "@" in email:
        return email.split("@", 1)[0]
    return f"user_{user_id[-8:]}"


def _is_placeholder(name: str | None) -> bool:
    return not name or name.startswith("user_")


class UserService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.users = UserRepository(session)
        self.outbox = outbox

    async def current_user(self, identity: Identity) -> User:
        """The caller's user row, created or refreshed from the identity's claims."""
        user = await self.users.by_external_id(identity.user_id)
        if user is None:
            return await self._create(
                identity.user_id,
                email=identity.email,
                name=identity.name or default_name(identity.user_id, identity.email),
                role=identity.claimed_role or "user",
            )
        changes: dict[str, Any] = {}
        # A real name replaces a placeholder; a placeholder never replaces a real name.
        if identity.name and identity.name != user.name:
            if _is_placeholder(user.name) or not _is_placeholder(identity.name):
                changes["name"] = identity.name
        if identity.email and not user.email:
            changes["email"] = identity.email
        # The identity provider's role claim wins; without one, user-service's role stands.
        if identity.claimed_role is not None and identity.claimed_role != user.role:
            changes["role"] = identity.claimed_role
        return await self._change(user, changes) if changes else user

    async def sync_from_provider(
        self, user_id: str, *, email: str | None, name: str | None, role: str | None
    ) -> User:
        """Apply the identity provider's view of a user (webhook ``user.created/updated``)."""
        user = await self.users.by_external_id(user_id)
        if user is None:
            return await self._create(
                user_id,
                email=email,
                name=name or default_name(user_id, email),
                role=role or "user",
            )
        changes: dict[str, Any] = {}
        if email and email != user.email:
            changes["email"] = email
        if name and name != user.name:
            changes["name"] = name
        if role and role != user.role:
            changes["role"] = role
        return await self._change(user, changes) if changes else user

    async def delete(self, user_id: str) -> None:
        """Forget a user and their usage; other services follow ``users.user.deleted``.

        The event goes out even for a user this service never saw: they may have posted
        on the board before ever calling user-service.
        """
        await self.users.delete(user_id)
        await UsageRepository(self.session).forget_user(user_id)
        await self.outbox.add(self.session, UserDeleted(user_id=user_id))

    async def change_role(self, actor: User, target_id: int, role: str) -> User:
        if actor.role not in ADMIN_ROLES:
            raise Forbidden("Only administrators can change roles.")
        target = await self.users.get(target_id)
        if target is None:
            raise NotFound(f"User {target_id} not found")
        if actor.role != "super_admin" and PRIVILEGED_ROLES & {role, target.role}:
            raise Forbidden("Only a super administrator can grant or revoke administrator roles.")
        if target.id == actor.id and role != actor.role:
            raise Conflict("Administrators cannot change their own role.")
        return await self._change(target, {"role": role}) if role != target.role else target

    # -- internals ---------------------------------------------------------------------

    async def _create(self, user_id: str, **values: Any) -> User:
        created = await self.users.insert_if_absent(user_id, values)
        if created is None:
            # Someone else created it a moment ago: apply our view on top of theirs.
            existing = await self.users.by_external_id(user_id)
            assert existing is not None
            return existing
        await self.outbox.add(self.session, UserCreated(**_snapshot(created)))
        return created

    async def _change(self, user: User, changes: dict[str, Any]) -> User:
        assert user.id is not None
        updated = await self.users.update_if_changed(user.id, changes)
        if updated is None:
            return user  # a concurrent writer made the same change (and told everyone)
        await self.outbox.add(self.session, UserUpdated(**_snapshot(updated)))
        return updated


def _snapshot(user: User) -> dict[str, Any]:
    return {
        "user_id": user.clerk_user_id,
        "account_id": user.id,
        "name": user.name,
        "email": user.email,
        "role": user.role,
    }
