from pydantic import Field, SecretStr, model_validator

from folio.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    http_port: int = 8000

    # Where each service lives (Kubernetes DNS names in production).
    upstream_translation_url: str = "http://127.0.0.1:8001"
    upstream_community_url: str = "http://127.0.0.1:8002"
    upstream_users_url: str = "http://127.0.0.1:8003"
    # Not routed (no public API), but the gateway is only ready when the worker is.
    upstream_worker_url: str | None = "http://127.0.0.1:8004"
    upstream_timeout_s: float = 120.0
    max_body_bytes: int = 60 * 1024 * 1024

    # End-user authentication: Clerk-compatible RS256 JWTs verified against a JWKS.
    auth_jwks_url: str = "http://127.0.0.1:8000/dev-issuer/.well-known/jwks.json"
    auth_issuer: str | None = "folio-dev-issuer"
    auth_audience: str | None = None
    auth_authorized_parties: list[str] = Field(default_factory=list)
    auth_jwks_cache_s: float = 300.0
    auth_leeway_s: int = 5

    # The development issuer: serves the JWKS of a local key pair so the stack runs
    # without Clerk. Refused in production.
    dev_issuer_public_key: SecretStr | None = None

    # Signs the identity forwarded to services.
    internal_token_private_key: SecretStr | None = None
    internal_token_ttl_s: int = 60

    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:3000", "http://localhost:5173"]
    )

    @model_validator(mode="after")
    def _no_dev_issuer_in_production(self) -> "GatewaySettings":
        if self.environment == "production" and self.dev_issuer_public_key is not None:
            raise ValueError("the development issuer cannot be enabled in production")
        return self
