from pathlib import Path

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
    # How many result events this service handles at once.
    event_prefetch: int = 32
