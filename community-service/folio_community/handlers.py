"""Consumers of community-service: the author read model and the cache's invalidation.

Every change to the board (its own ``community.*`` events, whichever replica made it)
and every change to an author makes the shared read cache's entries unreachable.
"""

from __future__ import annotations

from folio.cache import ReadCache
from folio.contracts import UserCreated, UserDeleted, UserUpdated
from folio.contracts.community import BOARD_EVENTS
from folio.messaging import Consumer, Delivery
from folio_community.service import AuthorService


def register(consumer: Consumer, cache: ReadCache) -> None:
    async def user_changed(event: UserCreated | UserUpdated, delivery: Delivery) -> None:
        assert delivery.session is not None
        service = AuthorService(delivery.session)  # type: ignore[arg-type]
        if await service.on_user_changed(event, delivery.envelope.occurred_at):
            await cache.invalidate()

    consumer.on(UserCreated)(user_changed)
    consumer.on(UserUpdated)(user_changed)

    @consumer.on(UserDeleted)
    async def user_deleted(event: UserDeleted, delivery: Delivery) -> None:
        assert delivery.session is not None
        service = AuthorService(delivery.session)  # type: ignore[arg-type]
        await service.on_user_deleted(event, delivery.envelope.occurred_at)
        await cache.invalidate()

    async def board_changed(_: object, __: Delivery) -> None:
        await cache.invalidate()

    for contract in BOARD_EVENTS:
        consumer.on(contract)(board_changed)
