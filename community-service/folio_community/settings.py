from pathlib import Path

from folio.settings import CachedServiceSettings


class CommunitySettings(CachedServiceSettings):
    service_name: str = "community-service"
    http_port: int = 8002
    database_schema: str = "community"

    # Uploaded images (blob storage: a local or shared directory).
    storage_dir: Path = Path(".data/storage")
    max_image_bytes: int = 10 * 1024 * 1024
    # Decoded size limit: a small file can expand into a huge bitmap (a "bomb").
    max_image_pixels: int = 40_000_000

    # The read cache (category overview, post lists): entries die with the next change
    # (events) or after this long; view counts are not changes, so keep it short.
    cache_ttl_s: int = 60
