from typing import Self

from pydantic import SecretStr, model_validator

from folio.settings import CachedServiceSettings


class UserSettings(CachedServiceSettings):
    service_name: str = "user-service"
    http_port: int = 8003
    database_schema: str = "users"

    # Clerk's webhook signing secret (``whsec_...``). Without it the webhook answers 503.
    clerk_webhook_secret: SecretStr | None = None
    # How long applied webhook message ids are kept: a retried or replayed message id
    # within this window is recognised and not applied again.
    webhook_receipt_retention_days: int = 30
    # ``x-admin-secret`` for announcement changes (compared in constant time), the same
    # FOLIO_ADMIN_SECRET the gateway checks. Without it only administrators (by role) can
    # change announcements.
    admin_secret: SecretStr | None = None
    # Its old name, FOLIO_ADMIN_SECRET_KEY: still read (startup logs that it is deprecated).
    admin_secret_key: SecretStr | None = None

    @model_validator(mode="after")
    def _admin_secret_under_its_old_name(self) -> Self:
        if self.admin_secret is None and self.admin_secret_key is not None:
            self.admin_secret = self.admin_secret_key
        return self

    # The live announcements stream: a keep-alive comment this often, and a re-read of
    # the announcements at least this often (events make changes arrive at once).
    announcement_heartbeat_s: float = 15.0
    announcement_refresh_s: float = 30.0
