"""A user's own provider, checked before a job is accepted.

Two checks, both before anything is stored: every URL the user supplied (``api_base_url``,
the service account's ``token_uri``) must satisfy the egress policy (:mod:`folio.egress`),
and the key must work, which one cheap live request shows (the model's metadata, the
key's own description, or a token exchange: nothing that is billed). A refused key is the
upstream's 400 ``Invalid API Key or unsupported model.``; a URL the policy refuses, or a
provider that cannot be reached, is a 422 with the reason. A provider that is busy (429)
or failing (5xx) does not block the job: the worker retries it.

Keys never appear in a message, a log line or an error: errors name keys by ``key_id``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import httpx
import jwt

from folio.contracts import ProviderConfig
from folio.egress import EgressPolicy, EgressRefused
from folio.errors import DomainError, InvalidInput

log = logging.getLogger(__name__)

INVALID_KEY = "Invalid API Key or unsupported model."
GEMINI_BASE_URL = "https://generativelanguage.googleapis.com"
OPENAI_BASE_URL = "https://api.openai.com/v1"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_KEYS_CHECKED = 5


class InvalidCredentials(DomainError):
    """The provider refused every key (the upstream answers 400)."""


@dataclass(frozen=True)
class _Probe:
    request: httpx.Request
    what: str  # for logs: never the key


class CredentialChecker:
    def __init__(self, policy: EgressPolicy, http: httpx.AsyncClient) -> None:
        self.policy = policy
        self.http = http

    async def check(self, config: ProviderConfig) -> None:
        """Raise :class:`InvalidCredentials` or :class:`InvalidInput` unless it works."""
        await self.check_urls(config)
        if config.provider == "vertex":
            await self._check_vertex(config)
            return
        for key in config.api_keys[:MAX_KEYS_CHECKED]:
            if await self._key_works(config, key):
                return
        raise InvalidCredentials(INVALID_KEY)

    async def check_urls(self, config: ProviderConfig) -> None:
        urls = []
        if config.base_url:
            urls.append((config.base_url, "api_base_url"))
        if config.service_account is not None:
            # Every URL in it, used or not: none may point inside the cluster.
            for name, value in config.service_account.model_dump().items():
                if isinstance(value, str) and value.lower().startswith(("http://", "https://")):
                    urls.append((value, f"provider_config {name}"))
        for url, what in urls:
            try:
                await self.policy.check_resolved(url, what=what)
            except EgressRefused as exc:
                raise InvalidInput(str(exc)) from None

    def _probe(self, config: ProviderConfig, key: str) -> _Probe:
        if config.provider == "gemini":
            base = (config.base_url or GEMINI_BASE_URL).rstrip("/")
            model = config.model.removeprefix("models/")
            return _Probe(
                httpx.Request(
                    "GET", f"{base}/v1beta/models/{model}", headers={"x-goog-api-key": key}
                ),
                "gemini models.get",
            )
        base = (config.base_url or OPENAI_BASE_URL).rstrip("/")
        # OpenRouter lists models without a key; its key endpoint needs one.
        path = "/key" if "openrouter.ai" in base else "/models"
        return _Probe(
            httpx.Request("GET", base + path, headers={"Authorization": f"Bearer {key}"}),
            f"openai-compatible {path}",
        )

    async def _key_works(self, config: ProviderConfig, key: str) -> bool:
        probe = self._probe(config, key)
        response = await self._send(probe.request, config)
        status = response.status_code
        log.info("credential check (%s): %s", probe.what, status)
        if status in (400, 401, 403, 404):
            return False  # refused key, or a model the provider does not have
        return True  # 2xx; 429 and 5xx are the provider's trouble, not the key's

    async def _check_vertex(self, config: ProviderConfig) -> None:
        """Trade the service account's signed assertion for a token (the cheapest call
        that proves the account and its key are valid)."""
        account = config.service_account
        assert account is not None
        now = int(time.time())
        try:
            assertion = jwt.encode(
                {
                    "iss": account.client_email,
                    "scope": "https://www.googleapis.com/auth/cloud-platform",
                    "aud": account.token_uri,
                    "iat": now,
                    "exp": now + 600,
                },
                account.private_key,
                algorithm="RS256",
            )
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise InvalidInput(
                "provider_config: the service account's private_key cannot sign"
            ) from exc
        request = httpx.Request(
            "POST",
            account.token_uri,
            data={"grant_type": JWT_BEARER, "assertion": assertion},
        )
        response = await self._send(request, config)
        if response.status_code in (400, 401, 403):
            raise InvalidCredentials("Invalid service account credentials for Vertex AI.")

    async def _send(self, request: httpx.Request, config: ProviderConfig) -> httpx.Response:
        try:
            return await self.http.send(request)
        except EgressRefused as exc:
            raise InvalidInput(f"The provider's address is not allowed: {exc}") from None
        except httpx.HTTPError as exc:
            host = request.url.host
            raise InvalidInput(
                f"The {config.provider} provider at {host} could not be reached "
                f"({type(exc).__name__}); check api_base_url."
            ) from None
