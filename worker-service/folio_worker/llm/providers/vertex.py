"""Gemini on Vertex AI, authenticated with a service account (no Google SDK needed).

Users upload the service-account JSON; the worker performs the OAuth JWT-bearer grant
itself: it signs an assertion with the account's private key, trades it for an access token
at ``token_uri`` and reuses the token until shortly before it expires. The request body and
answers are Gemini's (see :mod:`.gemini`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt

from folio.contracts.providers import ProviderConfig, ServiceAccount, key_id
from folio_worker.llm.errors import LLMAuthError
from folio_worker.llm.keys import Credential
from folio_worker.llm.providers.base import (
    Answer,
    AttemptFailed,
    json_body,
    status_detail,
    status_outcome,
)
from folio_worker.llm.providers.gemini import generate_body, model_path, parse_generate
from folio_worker.llm.types import LLMRequest

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_ASSERTION_LIFETIME_S = 3600
_REFRESH_MARGIN_S = 300.0


def default_base_url(location: str) -> str:
    if location == "global":
        return "https://aiplatform.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


class ServiceAccountTokens:
    """Access tokens of one service account, refreshed by one caller at a time."""

    def __init__(self, account: ServiceAccount, http: httpx.AsyncClient, timeout_s: float) -> None:
        self._account = account
        self._http = http
        self._timeout_s = timeout_s
        self._token: str | None = None
        self._valid_until = 0.0
        self._lock = asyncio.Lock()

    def _assertion(self) -> str:
        now = int(time.time())
        claims = {
            "iss": self._account.client_email,
            "scope": SCOPE,
            "aud": self._account.token_uri,
            "iat": now,
            "exp": now + _ASSERTION_LIFETIME_S,
        }
        extra: dict[str, Any] = self._account.model_extra or {}
        headers = {"kid": extra["private_key_id"]} if extra.get("private_key_id") else None
        try:
            return jwt.encode(claims, self._account.private_key, algorithm="RS256", headers=headers)
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise LLMAuthError(
                "the service account's private key cannot sign (not a valid RSA key)"
            ) from exc

    async def token(self) -> str:
        """A valid access token (fetching a new one when needed)."""
        if self._token is not None and time.monotonic() < self._valid_until:
            return self._token
        async with self._lock:
            if self._token is not None and time.monotonic() < self._valid_until:
                return self._token
            return await self._fetch()

    def invalidate(self, token: str) -> None:
        """Drop ``token`` if it is still the cached one (another call may have renewed it)."""
        if token and token == self._token:
            self._token = None

    async def _fetch(self) -> str:
        form = {"grant_type": JWT_BEARER, "assertion": self._assertion()}
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._http.post(
                    self._account.token_uri, data=form, timeout=self._timeout_s
                )
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise AttemptFailed("timeout", "the token endpoint did not answer in time") from exc
        except httpx.TransportError as exc:
            raise AttemptFailed(
                "transport", f"cannot reach the token endpoint ({type(exc).__name__})"
            ) from exc
        body = json_body(response)
        retryable = status_outcome(response.status_code)
        if retryable is not None:
            raise AttemptFailed(retryable, f"token endpoint {status_detail(response.status_code)}")
        token = body.get("access_token") if isinstance(body, dict) else None
        if response.status_code >= 400 or not isinstance(token, str) or not token:
            code = body.get("error") if isinstance(body, dict) else None
            label = code if isinstance(code, str) and code.isidentifier() else "refused"
            raise LLMAuthError(
                "the Vertex AI service account was refused by its token endpoint "
                f"({response.status_code} {label})"
            )
        lifetime = body.get("expires_in") if isinstance(body, dict) else None
        lifetime_s = float(lifetime) if isinstance(lifetime, int | float) else 3600.0
        self._token = token
        self._valid_until = time.monotonic() + max(0.0, lifetime_s - _REFRESH_MARGIN_S)
        return token


class VertexProvider:
    label = "Vertex AI"
    refused_reason = "Vertex AI refused the service account"

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient, timeout_s: float) -> None:
        if config.service_account is None or not config.project:
            raise ValueError("the vertex provider needs a service account and a project")
        self._config = config
        self._account = config.service_account
        self._tokens = ServiceAccountTokens(self._account, http, min(timeout_s, 60.0))
        base = (config.base_url or default_base_url(config.vertex_location)).rstrip("/")
        self._url = (
            f"{base}/v1/projects/{config.project}/locations/{config.vertex_location}"
            f"/publishers/google/models/{model_path(config.model)}:generateContent"
        )

    def credentials(self) -> list[Credential]:
        # One credential: the account. Its id names it in logs, pacing and concurrency.
        return [Credential(key_id(self._account.client_email), "")]

    async def build(self, request: LLMRequest, credential: Credential) -> httpx.Request:
        token = await self._tokens.token()
        return httpx.Request(
            "POST",
            self._url,
            json=generate_body(self._config, request),
            headers={"Authorization": f"Bearer {token}"},
        )

    def parse(self, request: LLMRequest, response: httpx.Response) -> Answer:
        if response.status_code == 401:
            sent = response.request.headers.get("authorization", "").removeprefix("Bearer ")
            self._tokens.invalidate(sent)  # the next attempt fetches a fresh token
            raise AttemptFailed("auth", "the access token was refused (401)", recoverable=True)
        return parse_generate(response, ())
