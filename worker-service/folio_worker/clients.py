"""Model clients per job: the deployment's provider or the user's (sealed) credentials.

A job's commands reuse one client in this process, so its key pool (cooldowns, disabled
keys) is shared by all of the job's calls; pacing across replicas goes through Redis.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from pydantic import ValidationError
from redis.asyncio import Redis

from folio.contracts import ProviderConfig
from folio.credentials import CredentialSealer, CredentialsError
from folio_worker.engine.calls import (
    CommandGate,
    ModelCaller,
    ResponseCache,
    Stopping,
    record_call,
)
from folio_worker.llm import (
    ConcurrencyLimiter,
    InProcessRateLimiter,
    LLMClient,
    LocalConcurrency,
    RateLimiter,
    RedisConcurrency,
    RedisRateLimiter,
)
from folio_worker.llm.transport import AiohttpTransport
from folio_worker.settings import WorkerSettings

MAX_CLIENTS = 256


class CredentialsUnavailable(Exception):
    pass


def key_limits(
    settings: WorkerSettings, redis: Redis | None
) -> tuple[RateLimiter, ConcurrencyLimiter]:
    """Each key's pacing and concurrency cap: shared by every replica through Redis, per
    process only in a deployment without Redis (a single worker)."""
    if redis is None:
        return InProcessRateLimiter(), LocalConcurrency()
    return (
        RedisRateLimiter(redis, prefix=f"{settings.redis_prefix}:rpm"),
        RedisConcurrency(redis, prefix=f"{settings.redis_prefix}:slots"),
    )


class ClientFactory:
    def __init__(
        self,
        settings: WorkerSettings,
        http: AiohttpTransport,
        limiter: RateLimiter,
        cache: ResponseCache,
        slots: ConcurrencyLimiter | None = None,
        stopping: Stopping | None = None,
    ) -> None:
        self.settings = settings
        self.stopping = stopping or Stopping()
        self.http = http
        self.limiter = limiter
        self.slots = slots
        self.cache = cache
        self.sealer = (
            CredentialSealer(settings.credentials_key.get_secret_value())
            if settings.credentials_key
            else None
        )
        self._clients: OrderedDict[str, LLMClient] = OrderedDict()

    def config_for(self, model: str, credentials: str | None) -> ProviderConfig:
        if credentials:
            if self.sealer is None:
                raise CredentialsUnavailable("this worker cannot open user credentials")
            try:
                config = self.sealer.open(credentials)
            except CredentialsError as exc:
                raise CredentialsUnavailable("the job's credentials cannot be opened") from exc
            # The same credentials may serve another model of the job (e.g. the analysis).
            return config if model == config.model else config.model_copy(update={"model": model})
        s = self.settings
        try:
            return ProviderConfig(
                provider=s.llm_provider,
                model=model,
                base_url=s.llm_base_url,
                api_keys=tuple(
                    k.get_secret_value() for k in (s.llm_api_key, *s.llm_backup_api_keys)
                ),
                requests_per_minute=s.llm_requests_per_minute,
                tokens_per_minute=s.llm_tokens_per_minute,
            )
        except ValidationError as exc:  # e.g. vertex without a service account
            fields = ", ".join(str(e["loc"][0]) for e in exc.errors() if e["loc"]) or "provider"
            raise CredentialsUnavailable(
                f"the deployment's model provider is misconfigured ({fields})"
            ) from None

    def caller(
        self, model: str, credentials: str | None, *, scope: str = "", reuse: bool = True
    ) -> ModelCaller:
        """A caller whose cached answers are those of ``scope`` (the job's reuse scope)."""
        identity = hashlib.sha256(f"{model}\0{credentials or ''}".encode()).hexdigest()
        client = self._clients.get(identity)
        if client is None:
            client = LLMClient(
                self.config_for(model, credentials),
                self.http,  # type: ignore[arg-type]  # the subset LLMClient uses
                limiter=self.limiter,
                slots=self.slots,
                max_wait_s=self.settings.llm_max_wait_s,
                max_attempts=self.settings.llm_max_attempts,
                timeout_s=self.settings.llm_timeout_s,
                max_concurrency_per_key=self.settings.llm_max_concurrency_per_key,
                on_call=record_call,
                gate=CommandGate(self.stopping),
            )
            self._clients[identity] = client
            while len(self._clients) > MAX_CLIENTS:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(identity)
        return ModelCaller(client, self.cache, scope=scope, reuse=reuse)
