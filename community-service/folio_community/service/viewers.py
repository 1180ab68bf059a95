"""Who is looking: the caller's identity and effective role."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.identity import Identity
from folio_community.policy import ANONYMOUS, Viewer
from folio_community.repository import AuthorRepository


async def viewer_for(session: AsyncSession, identity: Identity | None) -> Viewer:
    """The role the identity provider claimed wins; without a claim, the role user-service
    gave the user (the author read model, fed by its events)."""
    if identity is None:
        return ANONYMOUS
    role = identity.claimed_role
    if role is None:
        author = await AuthorRepository(session).get(identity.user_id)
        role = author.role if author is not None and not author.deleted else identity.role
    return Viewer(user_id=identity.user_id, role=role)
