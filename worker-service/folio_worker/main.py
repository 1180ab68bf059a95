"""Application factory for worker-service (health and metrics over HTTP, work over AMQP)."""

from __future__ import annotations

from fastapi import FastAPI

from folio.app import create_service_app
from folio.http import resilient_client
from folio.messaging.topology import WORKER_PLAN, WORKER_SEGMENT
from folio.runtime import ServiceRuntime
from folio.storage import LocalStorage
from folio_worker import handlers
from folio_worker.llm import OpenAICompatibleClient
from folio_worker.service import WorkerService
from folio_worker.settings import WorkerSettings


def create_app(settings: WorkerSettings | None = None) -> FastAPI:
    settings = settings or WorkerSettings()
    runtime = ServiceRuntime(settings)
    assert runtime.publisher is not None
    http = resilient_client(timeout_s=settings.llm_timeout_s)
    llm = OpenAICompatibleClient(
        http,
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value(),
        model=settings.llm_model,
        timeout_s=settings.llm_timeout_s,
        max_attempts=settings.llm_max_attempts,
    )
    service = WorkerService(LocalStorage(settings.storage_dir), runtime.publisher, llm)
    handlers.register(
        runtime.consumer(WORKER_PLAN, prefetch=settings.plan_prefetch),
        runtime.consumer(WORKER_SEGMENT, prefetch=settings.segment_prefetch),
        service,
    )
    return create_service_app(
        runtime,
        title="Folio worker-service",
        description="Runs the translation engine for work commands; no public API.",
    )
