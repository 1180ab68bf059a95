from pathlib import Path

from folio.settings import DatabaseSettings


class CommunitySettings(DatabaseSettings):
    service_name: str = "community-service"
    http_port: int = 8002
    database_schema: str = "community"

    # Uploaded images (blob storage: a local or shared directory).
    storage_dir: Path = Path(".data/storage")
    max_image_bytes: int = 10 * 1024 * 1024
    # Decoded size limit: a small file can expand into a huge bitmap (a "bomb").
    max_image_pixels: int = 40_000_000

    # The shared read cache (category overview, post lists). Optional: without Redis
    # every read goes to the database. Entries die with the next change (events) or
    # after cache_ttl_s, whichever comes first; view counts are not changes.
    redis_url: str | None = None
    redis_prefix: str = "folio"
    cache_ttl_s: int = 60
