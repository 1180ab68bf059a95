from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from folio.settings import ServiceSettings


class WorkerSettings(ServiceSettings):
    service_name: str = "worker-service"
    http_port: int = 8004
    storage_dir: Path = Path(".data/storage")

    # The model provider. The defaults point at the offline fake LLM server.
    llm_provider: Literal["openai", "gemini"] = "openai"
    llm_base_url: str = "http://127.0.0.1:8090/v1"
    llm_api_key: SecretStr = SecretStr("offline-fake-key")
    llm_model: str = "fake-model"
    llm_timeout_s: float = 300.0
    llm_max_attempts: int = 4

    # Messages in flight per consumer: plan commands are heavy, segment commands wait on
    # the model, so many can run at once.
    plan_prefetch: int = 2
    segment_prefetch: int = 16
