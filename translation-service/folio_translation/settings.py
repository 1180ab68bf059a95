from pathlib import Path

from pydantic import Field, SecretStr

from folio.settings import DatabaseSettings


class TranslationSettings(DatabaseSettings):
    service_name: str = "translation-service"
    http_port: int = 8001
    database_schema: str = "translation"
    storage_dir: Path = Path(".data/storage")
    # Larger books exist, but 50 MB of text is far beyond any novel; bigger uploads are
    # almost certainly not books (or are bombs) and are refused before they are stored.
    max_upload_bytes: int = 50 * 1024 * 1024
    default_target_language: str = "ko"
    # The model jobs use when the user brings no key (the deployment's own provider,
    # configured in the worker). Part of every translation-memory fingerprint.
    default_llm_model: str = "fake-model"
    # Seals user API keys at rest and in messages; shared with the worker. Without it,
    # user-supplied keys are refused.
    credentials_key: SecretStr | None = None
    # Hosts or networks (CIDR) a user's api_base_url may name although they are private
    # (a self-hosted vLLM or Ollama the operator vouches for).
    egress_allowed_hosts: list[str] = Field(default_factory=list)
    # The live check of a user's key before a job is accepted.
    credential_check_timeout_s: float = 10.0
    # Segments of one job in flight at once, across all workers: the per-job bound.
    dispatch_window: int = 16
    # Tokens a user may spend per day (UTC) on the deployment's own model key; jobs with
    # the user's own key are not counted. None: no allowance.
    user_daily_tokens: int | None = None
    # How many result events this service handles at once.
    event_prefetch: int = 32
    # Analysis without a job: how long a caller waits for the worker's answer (below the
    # gateway's timeout for these routes), and how much of the book is read.
    analysis_timeout_s: float = 120.0
    analysis_style_chars: int = 15_000  # as the upstream: the style of the opening
    analysis_max_chars: int = 60_000  # glossary and characters
    analysis_max_upload_bytes: int = 20 * 1024 * 1024
