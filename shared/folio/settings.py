"""Settings base shared by every service.

Every setting comes from the environment (prefix ``FOLIO_``) or a ``.env`` file, so the
same image runs unchanged in development, CI, compose and Kubernetes. Service identity
comes from ``OTEL_SERVICE_NAME``, never from code paths that differ per deployment.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]

# Template placeholders (k8s Secret templates, compose.env.example) anywhere in a value.
_PLACEHOLDERS = ("replace_me", "replace-me", "change-me", "changeme")
# Values that must never reach production: they are published in this repository.
_KNOWN_DEV_SECRETS = {
    "",
    "change-me",
    "changeme",
    "dev",
    "dev-secret-key",
    "secret",
    "replace_me",
    "replace-me",
}


class ServiceSettings(BaseSettings):
    """Settings every service has. Services subclass it and add their own fields."""

    model_config = SettingsConfigDict(
        env_prefix="FOLIO_",
        # Only the process environment: a stray .env (compose keeps one) must not leak
        # into every service started from the same directory.
        env_ignore_empty=True,
        extra="ignore",
    )

    environment: Environment = "development"
    service_name: str = Field(default="folio-service", validation_alias="OTEL_SERVICE_NAME")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    http_keep_alive_s: int = 65
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"

    # Messaging. Every service talks to RabbitMQ; the URL carries its credentials.
    rabbitmq_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    # How long a service waits for in-flight messages on shutdown (below the pod's
    # terminationGracePeriodSeconds, so acks are not lost on SIGTERM).
    graceful_timeout_s: float = 20.0

    # Identity: public key that verifies the gateway's internal identity tokens (PEM).
    internal_token_public_key: SecretStr | None = None
    internal_token_issuer: str = "folio-gateway"
    internal_token_audience: str = "folio-internal"

    # Telemetry: the OTLP/HTTP exporter is enabled only when an endpoint is configured.
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT"
    )

    @model_validator(mode="after")
    def _service_name_from_env(self) -> ServiceSettings:
        # OTEL_SERVICE_NAME wins; the subclass default is only a fallback for local runs.
        self.service_name = os.environ.get("OTEL_SERVICE_NAME", self.service_name)
        return self

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> ServiceSettings:
        if self.environment != "production":
            return self
        for name, value in self._secret_fields():
            if value is None:
                continue
            text = value.get_secret_value().strip().lower()
            if text in _KNOWN_DEV_SECRETS or any(p in text for p in _PLACEHOLDERS):
                raise ValueError(f"{name} uses a default value; set a real secret in production")
        url = self.rabbitmq_url.get_secret_value()
        if "guest:guest@" in url:
            raise ValueError("rabbitmq_url uses the default guest account in production")
        return self

    def _secret_fields(self) -> list[tuple[str, SecretStr | None]]:
        return [
            (name, getattr(self, name))
            for name, field in type(self).model_fields.items()
            if field.annotation in (SecretStr, SecretStr | None)
        ]


class DatabaseSettings(ServiceSettings):
    """Settings of a service that owns a Postgres schema."""

    database_url: SecretStr = SecretStr("postgresql+asyncpg://postgres@127.0.0.1:5432/folio")
    database_schema: str = "public"
    database_pool_size: int = 10
    database_max_overflow: int = 10
    # The outbox relay's polling fallback, for when a NOTIFY is missed (e.g. reconnects).
    outbox_poll_interval_s: float = 2.0
    outbox_batch_size: int = 100
    outbox_retention_hours: float = 72.0

    @model_validator(mode="after")
    def _refuse_trust_urls_in_production(self) -> DatabaseSettings:
        if self.environment == "production" and "@" in self.database_url.get_secret_value():
            userinfo = self.database_url.get_secret_value().split("://", 1)[-1].split("@", 1)[0]
            if ":" not in userinfo:
                raise ValueError("database_url has no password in production")
        return self


class CachedServiceSettings(DatabaseSettings):
    """A database service with the shared read cache (:mod:`folio.cache`)."""

    # Optional: without Redis every read goes to the database.
    redis_url: str | None = None
    # Namespaces this deployment's keys in a shared Redis (and isolates test runs).
    redis_prefix: str = "folio"
    # Entries also die after this long, whatever the events say.
    cache_ttl_s: int = 300
