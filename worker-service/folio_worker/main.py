"""Application factory for worker-service (health over HTTP, work over AMQP)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI

from folio.app import create_service_app
from folio.egress import EgressPolicy
from folio.messaging.topology import (
    WORKER_ANALYSIS,
    WORKER_ASSEMBLE,
    WORKER_CONTROL,
    WORKER_PLAN,
    WORKER_SEGMENT,
)
from folio.runtime import ServiceRuntime
from folio.storage import LocalStorage
from folio_worker import handlers
from folio_worker.clients import ClientFactory, key_limits
from folio_worker.control import JobControl
from folio_worker.deps import WorkerDeps
from folio_worker.engine.calls import MemoryCache, RedisCache, Stopping
from folio_worker.engine.isolation import DocumentProcessor
from folio_worker.engine.journal import UsageJournal
from folio_worker.engine.spend import MemoryLedger, RedisLedger, SpendLedger
from folio_worker.llm.transport import AiohttpTransport
from folio_worker.redis_client import connect_redis
from folio_worker.settings import WorkerSettings


def create_app(settings: WorkerSettings | None = None) -> FastAPI:
    settings = settings or WorkerSettings()
    runtime = ServiceRuntime(settings)
    assert runtime.publisher is not None
    http = AiohttpTransport(timeout_s=settings.llm_timeout_s, egress=egress_policy(settings))
    runtime.on_shutdown(http.aclose)
    documents = DocumentProcessor(
        memory_limit_mb=settings.parse_memory_limit_mb, timeout_s=settings.parse_timeout_s
    )
    runtime.on_startup(documents.start)
    runtime.on_shutdown(documents.stop)
    redis = connect_redis(settings.redis_url) if settings.redis_url else None
    if redis is not None:
        runtime.on_shutdown(redis.aclose)
        cache: MemoryCache | RedisCache = RedisCache(
            redis, prefix=f"{settings.redis_prefix}:llm-cache"
        )
        ledger: SpendLedger = RedisLedger(redis, prefix=f"{settings.redis_prefix}:spend")
    else:
        cache, ledger = MemoryCache(), MemoryLedger()
    limiter, slots = key_limits(settings, redis)
    # Its own connections: the relay blocks on the stream between entries.
    journal_redis = (
        connect_redis(settings.redis_url, max_connections=4, name="folio-worker-journal")
        if settings.redis_url
        else None
    )
    journal = UsageJournal(
        runtime.publisher, journal_redis, stream=f"{settings.redis_prefix}:usage-journal"
    )
    runtime.on_startup(journal.start)
    runtime.on_shutdown(journal.stop)
    if journal_redis is not None:
        runtime.on_shutdown(journal_redis.aclose)
    control = JobControl(redis, prefix=settings.redis_prefix)
    runtime.on_startup(control.start)
    runtime.on_shutdown(control.stop)
    # Told to stop (SIGTERM), no new model call starts: the calls in flight finish within
    # the graceful timeout (FOLIO_GRACEFUL_TIMEOUT_S, set to cover a call) and are
    # recorded; their commands are re-queued for another worker.
    stopping = Stopping()
    runtime.on_stopping(stopping.begin)
    clients = ClientFactory(settings, http, limiter, cache, slots, stopping)
    deps = WorkerDeps(
        settings,
        LocalStorage(settings.storage_dir),
        runtime.publisher,
        clients,
        documents,
        control,
        spend=ledger,
        journal=journal,
    )
    handlers.register(
        runtime.consumer(WORKER_PLAN, prefetch=settings.plan_prefetch),
        runtime.consumer(WORKER_SEGMENT, prefetch=settings.segment_prefetch),
        runtime.consumer(WORKER_ASSEMBLE, prefetch=settings.assemble_prefetch),
        deps,
        control=runtime.consumer(WORKER_CONTROL, prefetch=16),
        analysis=runtime.consumer(WORKER_ANALYSIS, prefetch=settings.analysis_prefetch),
    )
    return create_service_app(
        runtime,
        title="Folio worker-service",
        description="Runs the translation engine for work commands; no public API.",
    )


def egress_policy(settings: WorkerSettings) -> EgressPolicy:
    """Where model calls may connect: the policy of the environment, plus the operator's
    allow-list and the deployment's own provider."""
    allowed = list(settings.egress_allowed_hosts)
    if settings.llm_base_url:
        host = urlsplit(settings.llm_base_url).hostname
        if host:
            allowed.append(host)
    return EgressPolicy.for_environment(settings.environment, allowed)
