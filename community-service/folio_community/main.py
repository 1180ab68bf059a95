from __future__ import annotations

from fastapi import FastAPI

from folio.app import create_service_app
from folio.cache import ReadCache, connect_redis
from folio.messaging.topology import COMMUNITY_EVENTS
from folio.runtime import ServiceRuntime
from folio.storage import LocalStorage
from folio_community import handlers
from folio_community.api import ROUTERS
from folio_community.models import MESSAGING
from folio_community.settings import CommunitySettings


def create_app(settings: CommunitySettings | None = None) -> FastAPI:
    settings = settings or CommunitySettings()
    runtime = ServiceRuntime(settings, tables=MESSAGING)
    redis = None
    if settings.redis_url:
        redis = connect_redis(settings.redis_url, name=settings.service_name)
        runtime.on_shutdown(redis.aclose)
    cache = ReadCache(redis, f"{settings.redis_prefix}:community:board", ttl_s=settings.cache_ttl_s)
    handlers.register(runtime.consumer(COMMUNITY_EVENTS), cache)
    app = create_service_app(
        runtime,
        title="Folio community-service",
        description="Categories, posts, comments and images, with privacy at every level.",
        routers=list(ROUTERS),
    )
    app.state.settings = settings
    app.state.read_cache = cache
    app.state.storage = LocalStorage(settings.storage_dir)
    return app
