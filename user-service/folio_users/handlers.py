"""Consumers of user-service: the usage read model, cache invalidation, the live feed."""

from __future__ import annotations

from folio.cache import ReadCache
from folio.contracts import UsageRecorded
from folio.contracts.announcements import ANNOUNCEMENT_EVENTS
from folio.messaging import Consumer, Delivery
from folio_users.live import AnnouncementFeed
from folio_users.service import UsageService


def register(consumer: Consumer, cache: ReadCache) -> None:
    """The durable ``user-service.events`` queue (one replica handles each message)."""

    @consumer.on(UsageRecorded)
    async def usage_recorded(event: UsageRecorded, delivery: Delivery) -> None:
        assert delivery.session is not None
        await UsageService(delivery.session).record(event)  # type: ignore[arg-type]

    async def invalidate(_: object, __: Delivery) -> None:
        await cache.invalidate()

    for contract in ANNOUNCEMENT_EVENTS:
        consumer.on(contract)(invalidate)


def register_feed(consumer: Consumer, feed: AnnouncementFeed) -> None:
    """This replica's broadcast queue: wake the live stream."""

    async def changed(_: object, __: Delivery) -> None:
        feed.changed()

    for contract in ANNOUNCEMENT_EVENTS:
        consumer.on(contract)(changed)
