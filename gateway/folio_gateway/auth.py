"""End-user authentication: Clerk-compatible RS256 JWTs checked against a cached JWKS.

The token comes from ``Authorization: Bearer`` or Clerk's ``__session`` cookie. Issuer,
expiry (with a small leeway), audience and ``azp`` are checked when configured. A
missing or invalid token makes the caller anonymous; the service behind decides whether
the route needs a user (and answers 401 if so).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx
import jwt
from fastapi import Request

from folio.identity import Identity

log = logging.getLogger(__name__)
_ROLES = {"user", "moderator", "admin", "super_admin"}


class JwksCache:
    """Keys by ``kid``, refreshed after ``ttl_s`` or on an unknown ``kid`` (rate-limited)."""

    def __init__(
        self, http: httpx.AsyncClient, url: str, ttl_s: float = 300.0, min_refresh_s: float = 10.0
    ) -> None:
        self.http = http
        self.url = url
        self.ttl_s = ttl_s
        self.min_refresh_s = min_refresh_s
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> Any | None:
        now = time.monotonic()
        stale = now - self._fetched_at > self.ttl_s
        unknown = kid not in self._keys and now - self._fetched_at > self.min_refresh_s
        if stale or unknown:
            await self._refresh()
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid or "")

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < 1.0:
                return  # another request refreshed while we waited
            try:
                response = await self.http.get(self.url, timeout=5.0)
                response.raise_for_status()
                keys = {}
                for jwk in response.json().get("keys", []):
                    if jwk.get("kty") == "RSA" and jwk.get("use", "sig") == "sig":
                        keys[jwk.get("kid", "")] = jwt.algorithms.RSAAlgorithm.from_jwk(
                            json.dumps(jwk)
                        )
                self._keys = keys
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                # Keep serving with the keys we have; try again on the next miss.
                log.warning("JWKS refresh from %s failed: %s", self.url, exc)
            finally:
                self._fetched_at = time.monotonic()


class Authenticator:
    def __init__(
        self,
        jwks: JwksCache,
        *,
        issuer: str | None,
        audience: str | None,
        authorized_parties: list[str],
        leeway_s: int = 5,
    ) -> None:
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.authorized_parties = set(authorized_parties)
        self.leeway_s = leeway_s

    @staticmethod
    def token_from(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        for name, value in request.cookies.items():
            if name.startswith("__session") and value:
                return value
        return None

    async def identify(self, request: Request) -> Identity | None:
        token = self.token_from(request)
        if token is None:
            return None
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "RS256":
                raise jwt.InvalidAlgorithmError("only RS256 is accepted")
            key = await self.jwks.key(header.get("kid"))
            if key is None:
                raise jwt.InvalidKeyError("unknown signing key")
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway_s,
                options={
                    "require": ["exp", "sub"],
                    "verify_aud": self.audience is not None,
                    "verify_iss": self.issuer is not None,
                },
            )
            if self.authorized_parties and claims.get("azp") not in self.authorized_parties:
                raise jwt.InvalidTokenError("azp is not an authorized party")
        except jwt.PyJWTError as exc:
            log.info("rejected bearer token: %s", type(exc).__name__)
            return None
        return _identity_from_claims(claims)


def _identity_from_claims(claims: dict[str, Any]) -> Identity:
    metadata = claims.get("public_metadata") or claims.get("metadata") or {}
    role = metadata.get("role") if isinstance(metadata, dict) else None
    claimed = role if role in _ROLES else None
    email = claims.get("primary_email_address") or claims.get("email")
    name = claims.get("name") or claims.get("full_name")
    if not name and (claims.get("first_name") or claims.get("last_name")):
        name = " ".join(filter(None, [claims.get("first_name"), claims.get("last_name")]))
    name = name or claims.get("username")
    return Identity(
        user_id=str(claims["sub"]),
        role=claimed or "user",
        claimed_role=claimed,
        email=email if isinstance(email, str) else None,
        name=name if isinstance(name, str) else None,
    )
