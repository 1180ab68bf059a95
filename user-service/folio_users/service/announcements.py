"""Announcements: one active at a time, changes told to every replica through events.

Writes take a transaction-level advisory lock, and a partial unique index keeps "one
active" true whatever happens. Every change is an ``users.announcement.*`` event through
the outbox: user-service's durable consumer invalidates the shared read cache, and each
replica's own broadcast queue wakes its live stream (:mod:`folio_users.live`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.cache import ReadCache
from folio.contracts import AnnouncementCreated, AnnouncementDeleted, AnnouncementUpdated
from folio.errors import NotFound
from folio.messaging import Outbox
from folio_users.models import Announcement
from folio_users.repository import AnnouncementRepository
from folio_users.schemas import AnnouncementCreate, AnnouncementPublic


def serialise(announcements: list[Announcement]) -> bytes:
    items = [AnnouncementPublic.model_validate(a).model_dump(mode="json") for a in announcements]
    import json

    return json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode()


class AnnouncementService:
    def __init__(self, session: AsyncSession, outbox: Outbox, cache: ReadCache) -> None:
        self.session = session
        self.announcements = AnnouncementRepository(session)
        self.outbox = outbox
        self.cache = cache

    async def listing(self, active_only: bool, limit: int) -> bytes:
        """The upstream's semantics: every active one (``limit`` ignored), or the latest
        ``limit`` of all. Served from the shared cache."""
        key = "active" if active_only else f"latest:{limit}"

        async def build() -> bytes:
            rows = (
                await self.announcements.active()
                if active_only
                else await self.announcements.latest(limit)
            )
            return serialise(rows)

        return await self.cache.get_or_build(key, build)

    async def create(self, body: AnnouncementCreate) -> Announcement:
        await self.announcements.lock_writes()
        deactivated = await self.announcements.deactivate_others(None) if body.is_active else []
        announcement = await self.announcements.add(
            Announcement(message=body.message, is_active=body.is_active)
        )
        assert announcement.id is not None
        await self._deactivated(deactivated)
        await self.outbox.add(
            self.session,
            AnnouncementCreated(announcement_id=announcement.id, is_active=announcement.is_active),
        )
        return announcement

    async def update(self, announcement_id: int, body: AnnouncementCreate) -> Announcement:
        await self.announcements.lock_writes()
        announcement = await self._get(announcement_id)
        deactivated = (
            await self.announcements.deactivate_others(announcement_id) if body.is_active else []
        )
        announcement.message = body.message
        announcement.is_active = body.is_active
        announcement.updated_at = datetime.now(UTC)
        self.session.add(announcement)
        await self.session.flush()
        await self._deactivated(deactivated)
        await self.outbox.add(
            self.session,
            AnnouncementUpdated(announcement_id=announcement_id, is_active=body.is_active),
        )
        return announcement

    async def delete(self, announcement_id: int) -> None:
        await self.announcements.lock_writes()
        announcement = await self._get(announcement_id)
        await self.announcements.delete(announcement)
        await self.outbox.add(self.session, AnnouncementDeleted(announcement_id=announcement_id))

    async def _get(self, announcement_id: int) -> Announcement:
        announcement = await self.announcements.get(announcement_id)
        if announcement is None:
            raise NotFound(f"Announcement {announcement_id} not found")
        return announcement

    async def _deactivated(self, ids: list[int]) -> None:
        for other in ids:
            await self.outbox.add(
                self.session, AnnouncementUpdated(announcement_id=other, is_active=False)
            )
