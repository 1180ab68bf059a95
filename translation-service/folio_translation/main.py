"""Application factory for translation-service."""

from __future__ import annotations

from fastapi import FastAPI

from folio.app import create_service_app
from folio.credentials import CredentialSealer
from folio.egress import EgressPolicy, egress_client
from folio.messaging.topology import TRANSLATION_EVENTS
from folio.runtime import ServiceRuntime
from folio.storage import LocalStorage
from folio_translation import api, handlers
from folio_translation.events import JobWatch
from folio_translation.models import MESSAGING
from folio_translation.service import JobDeps, JobProgress
from folio_translation.service.credentials import CredentialChecker
from folio_translation.settings import TranslationSettings


def create_app(settings: TranslationSettings | None = None) -> FastAPI:
    settings = settings or TranslationSettings()
    runtime = ServiceRuntime(settings, tables=MESSAGING)
    assert runtime.outbox is not None
    policy = EgressPolicy.for_environment(settings.environment, settings.egress_allowed_hosts)
    checks = egress_client(policy, timeout_s=settings.credential_check_timeout_s)
    runtime.on_shutdown(checks.aclose)
    deps = JobDeps(
        outbox=runtime.outbox,
        storage=LocalStorage(settings.storage_dir),
        sealer=(
            CredentialSealer(settings.credentials_key.get_secret_value())
            if settings.credentials_key
            else None
        ),
        default_model=settings.default_llm_model,
        dispatch_window=settings.dispatch_window,
        daily_tokens=settings.user_daily_tokens,
        checker=CredentialChecker(policy, checks),
    )
    assert runtime.database is not None
    watch = JobWatch(runtime.database)
    runtime.on_startup(watch.start)
    runtime.on_shutdown(watch.stop)
    consumer = runtime.consumer(TRANSLATION_EVENTS, prefetch=settings.event_prefetch)
    handlers.register(consumer, deps)
    app = create_service_app(
        runtime,
        title="Folio translation-service",
        description="Translation jobs, segments and downloads.",
        routers=[api.router],
    )
    app.state.job_deps = deps
    app.state.rpc = runtime.rpc_client()  # analysis without a job: the worker answers
    app.state.job_progress = JobProgress(runtime.database, watch)
    app.state.storage = deps.storage
    return app
