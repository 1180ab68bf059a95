"""Application factory for translation-service."""

from __future__ import annotations

from fastapi import FastAPI

from folio.app import create_service_app
from folio.messaging.topology import TRANSLATION_EVENTS
from folio.runtime import ServiceRuntime
from folio.storage import LocalStorage
from folio_translation import api, handlers
from folio_translation.models import MESSAGING
from folio_translation.settings import TranslationSettings


def create_app(settings: TranslationSettings | None = None) -> FastAPI:
    settings = settings or TranslationSettings()
    runtime = ServiceRuntime(settings, tables=MESSAGING)
    assert runtime.outbox is not None
    consumer = runtime.consumer(TRANSLATION_EVENTS, prefetch=settings.event_prefetch)
    handlers.register(consumer, runtime.outbox)
    app = create_service_app(
        runtime,
        title="Folio translation-service",
        description="Translation jobs, segments and downloads.",
        routers=[api.router],
    )
    app.state.storage = LocalStorage(settings.storage_dir)
    return app
