from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import FastAPI

from folio.app import create_service_app
from folio.cache import ReadCache, connect_redis
from folio.messaging.topology import ANNOUNCEMENT_BROADCAST, USER_EVENTS
from folio.runtime import ServiceRuntime
from folio_users import handlers
from folio_users.api import ROUTERS
from folio_users.live import AnnouncementFeed
from folio_users.models import MESSAGING
from folio_users.service import ClerkWebhook
from folio_users.settings import UserSettings

log = logging.getLogger(__name__)


async def _old_admin_secret_name() -> None:
    log.warning(
        "FOLIO_ADMIN_SECRET_KEY is deprecated: set FOLIO_ADMIN_SECRET instead "
        "(the name the gateway reads for the same secret)"
    )


def create_app(settings: UserSettings | None = None) -> FastAPI:
    settings = settings or UserSettings()
    runtime = ServiceRuntime(settings, tables=MESSAGING)
    assert runtime.database is not None
    if settings.admin_secret_key is not None:
        runtime.on_startup(_old_admin_secret_name)
    redis = None
    if settings.redis_url:
        redis = connect_redis(settings.redis_url, name=settings.service_name)
        runtime.on_shutdown(redis.aclose)
    cache = ReadCache(
        redis, f"{settings.redis_prefix}:users:announcements", ttl_s=settings.cache_ttl_s
    )
    feed = AnnouncementFeed(runtime.database, refresh_s=settings.announcement_refresh_s)
    runtime.on_startup(feed.start)
    runtime.on_shutdown(feed.stop)
    handlers.register(runtime.consumer(USER_EVENTS), cache)
    handlers.register_feed(runtime.broadcast_consumer(ANNOUNCEMENT_BROADCAST), feed)
    app = create_service_app(
        runtime,
        title="Folio user-service",
        description="Users, roles, the token-usage dashboard, announcements and Clerk's webhook.",
        routers=list(ROUTERS),
    )
    app.state.settings = settings
    app.state.announcement_cache = cache
    app.state.announcement_feed = feed
    app.state.clerk_webhook = ClerkWebhook(
        settings.clerk_webhook_secret.get_secret_value() if settings.clerk_webhook_secret else None,
        timedelta(days=settings.webhook_receipt_retention_days),
    )
    return app
