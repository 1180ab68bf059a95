from pydantic import BaseModel, Field, SecretStr, model_validator

from folio.settings import ServiceSettings


class RateLimitClass(BaseModel):
    """Limits of one class of routes, in the ``limits`` notation ("10/minute;100/day").

    ``user`` applies to signed-in callers (keyed by user id), ``ip`` to anonymous ones
    (keyed by client address); ``None`` means unlimited.
    """

    user: str | None = "600/minute"
    ip: str | None = "300/minute"


def default_rate_limits() -> dict[str, RateLimitClass]:
    return {
        "default": RateLimitClass(),
        # Expensive: every call starts model work (or stores a book).
        "job_create": RateLimitClass(user="10/minute;200/day", ip="5/minute"),
        "analysis": RateLimitClass(user="20/minute", ip="5/minute;50/day"),
        "illustration": RateLimitClass(user="10/minute", ip="5/minute"),
        "quality": RateLimitClass(user="10/minute", ip="5/minute"),  # validation, post-edit
        "upload": RateLimitClass(user="30/minute", ip="10/minute"),
        # The identity provider's webhooks come from a few addresses, in bursts.
        "webhook": RateLimitClass(user=None, ip="1200/minute"),
        # One GraphQL query may cost several service calls (bounded by its cost limit).
        "graphql": RateLimitClass(user="120/minute", ip="60/minute"),
    }


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    http_port: int = 8000

    # Where each service lives (Kubernetes DNS names in production).
    upstream_translation_url: str = "http://127.0.0.1:8001"
    upstream_community_url: str = "http://127.0.0.1:8002"
    upstream_users_url: str = "http://127.0.0.1:8003"
    # Not routed (no public API), but the gateway is only ready when the worker is.
    upstream_worker_url: str | None = "http://127.0.0.1:8004"
    # How long a service may stay silent (before its answer, or between two chunks of
    # it) on routes that set no timeout of their own. Streams have none.
    upstream_timeout_s: float = 30.0
    upstream_connect_timeout_s: float = 3.0
    # Connect failures of idempotent requests are retried this many times.
    upstream_connect_retries: int = 2
    # Pooled keep-alive connections per service, and how long an idle one is kept:
    # below the services' own keep-alive (65 s), so the gateway never reuses a
    # connection the service is closing.
    upstream_max_connections: int = 256
    upstream_keepalive_s: float = 30.0
    # A service that fails this many times in a row is not called for the cooldown;
    # then one probe at a time tells whether it is back.
    circuit_failure_threshold: int = 5
    circuit_cooldown_s: float = 5.0

    # Request bodies: JSON and form routes, and routes that take files.
    max_body_bytes: int = 5 * 1024 * 1024
    max_upload_bytes: int = 64 * 1024 * 1024

    # End-user authentication: Clerk-compatible RS256 JWTs verified against a JWKS.
    auth_jwks_url: str = "http://127.0.0.1:8000/dev-issuer/.well-known/jwks.json"
    auth_issuer: str | None = "folio-dev-issuer"
    auth_audience: str | None = None
    # Clerk's ``azp``: the origins allowed to have requested the token (when set).
    auth_authorized_parties: list[str] = Field(default_factory=list)
    auth_algorithms: list[str] = Field(default_factory=lambda: ["RS256"])
    auth_jwks_cache_s: float = 300.0
    # An unknown ``kid`` refetches the JWKS at most this often (key rotation).
    auth_jwks_min_refresh_s: float = 10.0
    auth_leeway_s: int = 5
    # The upstream's ``x-admin-secret`` for announcement writes; off when unset.
    admin_secret: SecretStr | None = None

    # The development issuer: serves the JWKS of a local key pair so the stack runs
    # without Clerk. Refused in production.
    dev_issuer_public_key: SecretStr | None = None

    # Signs the identity forwarded to services.
    internal_token_private_key: SecretStr | None = None
    internal_token_ttl_s: int = 60

    # Browsers: the frontend's origin plus any others allowed to call the API.
    frontend_origin: str | None = None
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:3000", "http://localhost:5173"]
    )
    # Strict-Transport-Security on responses to HTTPS requests (0 disables it).
    hsts_max_age_s: int = 63072000
    # Proxies in front of the gateway whose X-Forwarded-For entries are trusted (0: the
    # peer address is the client).
    trusted_proxy_hops: int = 0

    # Rate limits by class (see the route table); shared by replicas through Redis
    # when ``redis_url`` is set, kept in process otherwise.
    rate_limits: dict[str, RateLimitClass] = Field(default_factory=default_rate_limits)
    # Multiplies every limit: development stacks (and their tests) relax them.
    rate_limit_scale: float = 1.0
    redis_url: SecretStr | None = None
    redis_prefix: str = "folio"

    # How long the merged OpenAPI document is reused before the services are asked again.
    openapi_cache_s: float = 30.0

    # The GraphQL read API: what one document may ask for, and how long each of the
    # service calls it makes may take. Introspection: on, except in production (None).
    graphql_max_depth: int = 10
    graphql_max_aliases: int = 15
    graphql_max_tokens: int = 2000
    graphql_max_cost: int = 5000
    graphql_introspection: bool | None = None
    graphql_upstream_timeout_s: float = 10.0

    @model_validator(mode="after")
    def _no_dev_issuer_in_production(self) -> "GatewaySettings":
        if self.environment == "production" and self.dev_issuer_public_key is not None:
            raise ValueError("the development issuer cannot be enabled in production")
        return self

    @model_validator(mode="after")
    def _complete_rate_limits(self) -> "GatewaySettings":
        # Overriding one class keeps the defaults of the others.
        self.rate_limits = {**default_rate_limits(), **self.rate_limits}
        return self

    @property
    def allowed_origins(self) -> list[str]:
        origins = list(self.cors_origins)
        if self.frontend_origin and self.frontend_origin not in origins:
            origins.append(self.frontend_origin.rstrip("/"))
        return origins

    @property
    def upstream_urls(self) -> dict[str, str]:
        from folio_gateway.routes import COMMUNITY, TRANSLATION, USERS

        return {
            TRANSLATION: self.upstream_translation_url,
            COMMUNITY: self.upstream_community_url,
            USERS: self.upstream_users_url,
        }
