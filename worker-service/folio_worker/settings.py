from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from folio.settings import ServiceSettings


class WorkerSettings(ServiceSettings):
    service_name: str = "worker-service"
    http_port: int = 8004
    storage_dir: Path = Path(".data/storage")

    # The deployment's own provider, used by jobs whose user brought no key. The model
    # comes with each job (translation-service decides it).
    llm_provider: Literal["openai", "openrouter", "azure", "gemini", "vertex", "anthropic"] = (
        "openai"
    )
    # None: the provider's own endpoint. The local stack and the deploy files point it at
    # the fake LLM explicitly, so a real provider never falls back to the fake by accident.
    llm_base_url: str | None = None
    llm_api_key: SecretStr = SecretStr("offline-fake-key")
    # More keys for the same provider (JSON list): calls rotate over all of them.
    llm_backup_api_keys: list[SecretStr] = Field(default_factory=list)
    llm_requests_per_minute: int | None = None
    llm_tokens_per_minute: int | None = None
    # The longest a command waits for a key (Retry-After, cool-down, pacing) before it is
    # re-queued with a delay instead: well inside RabbitMQ's consumer timeout.
    llm_max_wait_s: float = 60.0
    # A command deferred for longer than this in all fails with the provider's reason.
    llm_max_deferred_s: float = 6 * 3600.0
    llm_timeout_s: float = 300.0
    # Told to stop, the worker starts no new call and lets those in flight finish (they
    # are billed): the graceful timeout covers one call (llm_timeout_s) with a margin.
    graceful_timeout_s: float = 330.0
    llm_max_attempts: int = 6
    llm_max_concurrency_per_key: int = 64
    # Hosts or networks (CIDR) model calls may reach although they are private (a
    # self-hosted vLLM or Ollama). The deployment's own provider (llm_base_url) always may.
    egress_allowed_hosts: list[str] = Field(default_factory=list)
    # Opens user keys sealed by translation-service.
    credentials_key: SecretStr | None = None
    # Shared state across worker replicas: RPM pacing and the response cache.
    redis_url: str | None = None
    # Namespaces this deployment's keys in a shared Redis (and isolates test runs).
    redis_prefix: str = "folio"

    # Engine sizes. A unit is what one model call translates; each job's plan sizes its
    # units for the book and the key's concurrency (engine/sizing.py). FOLIO_UNIT_SIZE is
    # an operator's override of that choice (the segment and the model still bound it).
    unit_size: int | None = None
    analysis_chunk_size: int = 6000
    analysis_concurrency: int = 64
    unit_concurrency: int = 16
    answer_attempts: int = 3

    # Parsing runs in a separate process with these limits (hostile files).
    parse_memory_limit_mb: int = 2048
    parse_timeout_s: float = 120.0

    # Messages in flight per consumer: plan commands are heavy, segment commands wait on
    # the model, so many can run at once.
    plan_prefetch: int = 2
    segment_prefetch: int = 32
    assemble_prefetch: int = 2
    # Analysis requests (a book's beginning each, answered while the caller waits).
    analysis_prefetch: int = 4

    # Task monitoring: at most one progress report per task this often.
    task_progress_interval_s: float = 2.0
    # A run's start is reported once it has lasted this long; a quicker success says it.
    task_started_delay_s: float = 1.0
