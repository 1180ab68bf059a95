from __future__ import annotations

from fastapi import FastAPI

from folio.app import create_service_app
from folio.messaging.topology import COMMUNITY_EVENTS
from folio.runtime import ServiceRuntime
from folio_community import api, handlers
from folio_community.models import MESSAGING
from folio_community.settings import CommunitySettings


def create_app(settings: CommunitySettings | None = None) -> FastAPI:
    settings = settings or CommunitySettings()
    runtime = ServiceRuntime(settings, tables=MESSAGING)
    handlers.register(runtime.consumer(COMMUNITY_EVENTS))
    return create_service_app(
        runtime,
        title="Folio community-service",
        description="Categories, posts, comments and images.",
        routers=[api.router],
    )
