"""Keeps the author read model in step with user-service's events."""

from __future__ import annotations

from folio.contracts import UserCreated, UserDeleted, UserUpdated
from folio.messaging import Consumer, Delivery
from folio_community.service import CommunityService


def register(consumer: Consumer) -> None:
    @consumer.on(UserCreated)
    async def user_created(event: UserCreated, delivery: Delivery) -> None:
        assert delivery.session is not None
        await CommunityService(delivery.session).on_user_changed(event)  # type: ignore[arg-type]

    @consumer.on(UserUpdated)
    async def user_updated(event: UserUpdated, delivery: Delivery) -> None:
        assert delivery.session is not None
        await CommunityService(delivery.session).on_user_changed(event)  # type: ignore[arg-type]

    @consumer.on(UserDeleted)
    async def user_deleted(event: UserDeleted, delivery: Delivery) -> None:
        assert delivery.session is not None
        await CommunityService(delivery.session).on_user_deleted(event)  # type: ignore[arg-type]
