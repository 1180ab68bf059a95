"""Application factory for worker-service (health over HTTP, work over AMQP)."""

from __future__ import annotations

from fastapi import FastAPI

from folio.app import create_service_app
from folio.messaging.topology import WORKER_ASSEMBLE, WORKER_PLAN, WORKER_SEGMENT
from folio.runtime import ServiceRuntime
from folio.storage import LocalStorage
from folio_worker import handlers
from folio_worker.clients import ClientFactory
from folio_worker.deps import WorkerDeps
from folio_worker.engine.calls import MemoryCache, RedisCache
from folio_worker.engine.isolation import DocumentProcessor
from folio_worker.llm import (
    ConcurrencyLimiter,
    InProcessRateLimiter,
    LocalConcurrency,
    RedisConcurrency,
    RedisRateLimiter,
)
from folio_worker.llm.transport import AiohttpTransport
from folio_worker.redis_client import connect_redis
from folio_worker.settings import WorkerSettings


def create_app(settings: WorkerSettings | None = None) -> FastAPI:
    settings = settings or WorkerSettings()
    runtime = ServiceRuntime(settings)
    assert runtime.publisher is not None
    http = AiohttpTransport(timeout_s=settings.llm_timeout_s)
    runtime.on_shutdown(http.aclose)
    documents = DocumentProcessor(
        memory_limit_mb=settings.parse_memory_limit_mb, timeout_s=settings.parse_timeout_s
    )
    runtime.on_startup(documents.start)
    runtime.on_shutdown(documents.stop)
    if settings.redis_url:
        redis = connect_redis(settings.redis_url)
        runtime.on_shutdown(redis.aclose)
        cache: MemoryCache | RedisCache = RedisCache(
            redis, prefix=f"{settings.redis_prefix}:llm-cache"
        )
        limiter = RedisRateLimiter(redis, prefix=f"{settings.redis_prefix}:rpm")
        slots: ConcurrencyLimiter = RedisConcurrency(redis, prefix=f"{settings.redis_prefix}:slots")
    else:
        cache, limiter, slots = MemoryCache(), InProcessRateLimiter(), LocalConcurrency()
    clients = ClientFactory(settings, http, limiter, cache, slots)
    deps = WorkerDeps(
        settings, LocalStorage(settings.storage_dir), runtime.publisher, clients, documents
    )
    handlers.register(
        runtime.consumer(WORKER_PLAN, prefetch=settings.plan_prefetch),
        runtime.consumer(WORKER_SEGMENT, prefetch=settings.segment_prefetch),
        runtime.consumer(WORKER_ASSEMBLE, prefetch=settings.assemble_prefetch),
        deps,
    )
    return create_service_app(
        runtime,
        title="Folio worker-service",
        description="Runs the translation engine for work commands; no public API.",
    )
