"""Queries of the ``users`` schema. Repositories never commit: the caller's unit of work does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from folio_users.models import Announcement, UsageRecord, User, WebhookReceipt


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_external_id(self, external_id: str) -> User | None:
        query = select(User).where(User.clerk_user_id == external_id)  # type: ignore[arg-type]
        return (await self.session.exec(query)).scalars().first()  # type: ignore[call-overload]

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def insert_if_absent(self, clerk_user_id: str, values: dict[str, Any]) -> User | None:
        """Insert unless the user exists (a concurrent request or the webhook won)."""
        result = await self.session.execute(
            insert(User)
            .values(clerk_user_id=clerk_user_id, **values)
            .on_conflict_do_nothing(index_elements=["clerk_user_id"])
            .returning(User)
        )
        row = result.first()
        return row[0] if row else None

    async def update_if_changed(self, user_id: int, values: dict[str, Any]) -> User | None:
        """Write only when something differs; the one writer that changed it gets the row."""
        changed = [
            getattr(User, name).is_distinct_from(value)  # type: ignore[attr-defined]
            for name, value in values.items()
        ]
        result = await self.session.execute(
            update(User)
            .where(User.id == user_id, or_(*changed))  # type: ignore[arg-type]
            .values(**values, updated_at=datetime.now(UTC))
            .returning(User)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        row = result.first()
        return row[0] if row else None

    async def delete(self, clerk_user_id: str) -> int | None:
        result = await self.session.execute(
            delete(User)
            .where(User.clerk_user_id == clerk_user_id)  # type: ignore[arg-type]
            .returning(User.id)  # type: ignore[arg-type]
        )
        row = result.first()
        return row[0] if row else None


class AnnouncementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_writes(self) -> None:
        """Serialise announcement writes (one active at a time) for this transaction."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('announcements'))"))

    async def active(self) -> list[Announcement]:
        query = (
            select(Announcement)
            .where(Announcement.is_active)  # type: ignore[arg-type]
            .order_by(Announcement.created_at.desc(), Announcement.id.desc())  # type: ignore[attr-defined, union-attr]
        )
        return list((await self.session.exec(query)).scalars().all())  # type: ignore[call-overload]

    async def latest(self, limit: int) -> list[Announcement]:
        query = (
            select(Announcement)
            .order_by(Announcement.created_at.desc(), Announcement.id.desc())  # type: ignore[attr-defined, union-attr]
            .limit(limit)
        )
        return list((await self.session.exec(query)).scalars().all())  # type: ignore[call-overload]

    async def get(self, announcement_id: int) -> Announcement | None:
        return await self.session.get(Announcement, announcement_id)

    async def deactivate_others(self, keep: int | None) -> list[int]:
        query = update(Announcement).where(Announcement.is_active)  # type: ignore[arg-type]
        if keep is not None:
            query = query.where(Announcement.id != keep)  # type: ignore[arg-type]
        result = await self.session.execute(
            query.values(is_active=False, updated_at=datetime.now(UTC))
            .returning(Announcement.id)  # type: ignore[arg-type]
            .execution_options(synchronize_session=False)
        )
        return [row[0] for row in result.all()]

    async def add(self, announcement: Announcement) -> Announcement:
        self.session.add(announcement)
        await self.session.flush()
        return announcement

    async def delete(self, announcement: Announcement) -> None:
        await self.session.delete(announcement)
        await self.session.flush()


class ReceiptRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, message_id: str, event_type: str) -> bool:
        """True the first time this webhook message id is seen."""
        result = await self.session.execute(
            insert(WebhookReceipt)
            .values(message_id=message_id, event_type=event_type)
            .on_conflict_do_nothing(index_elements=["message_id"])
            .returning(WebhookReceipt.message_id)  # type: ignore[arg-type]
        )
        return result.first() is not None

    async def purge(self, older_than: timedelta) -> None:
        cutoff = datetime.now(UTC) - older_than
        await self.session.execute(
            delete(WebhookReceipt).where(WebhookReceipt.received_at < cutoff)  # type: ignore[arg-type]
        )


class UsageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, values: dict[str, Any]) -> bool:
        """Store one usage record; False when its ``usage_id`` was already counted."""
        result = await self.session.execute(
            insert(UsageRecord)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["usage_id"])
            .returning(UsageRecord.usage_id)  # type: ignore[arg-type]
        )
        return result.first() is not None

    async def totals_by_model(self, user_id: str) -> list[Any]:
        """One row per (category, model): token sums, images, and the latest record."""
        u = UsageRecord
        query = (
            select(
                u.category,
                u.model,
                func.sum(u.input_tokens).label("input_tokens"),
                func.sum(u.output_tokens).label("output_tokens"),
                func.sum(u.images).label("images"),
                func.max(u.recorded_at).label("last_recorded"),
            )
            .where(u.user_id == user_id)  # type: ignore[arg-type]
            .group_by(u.category, u.model)
        )
        return list((await self.session.execute(query)).all())

    async def forget_user(self, user_id: str) -> None:
        await self.session.execute(delete(UsageRecord).where(UsageRecord.user_id == user_id))  # type: ignore[arg-type]
