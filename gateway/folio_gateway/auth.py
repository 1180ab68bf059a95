"""End-user authentication: Clerk-compatible JWTs checked against a cached JWKS.

The token comes from ``Authorization: Bearer`` or Clerk's ``__session`` cookie; an empty
header, ``Bearer null`` or ``Bearer undefined`` (what the upstream frontend sends before
its token is ready) is no token at all. Only the configured algorithms are accepted
(RS256 by default: never ``none``, never an HMAC keyed with the public key). Issuer,
expiry and not-before (with a small leeway), audience and Clerk's ``azp`` are checked
when configured. The JWKS is cached and refetched when it is stale or a token names an
unknown ``kid`` (key rotation), at most once per ``min_refresh_s``.

A token is verified once: the result, and the internal identity token signed for it, are
cached until the token expires (bounded), so a session's later requests cost a dict look-up.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

from folio.identity import Identity, InternalTokenSigner

log = logging.getLogger(__name__)
_ROLES = {"user", "moderator", "admin", "super_admin"}
# What browsers and the upstream frontend send when they have no token.
_NO_TOKEN = {"", "null", "undefined", "none", "false"}
ADMIN_SECRET_HEADER = "x-admin-secret"


class AuthError(Exception):
    """A token was presented but does not identify anyone; the message says why."""


def bearer_token(authorization: str) -> str | None:
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = value.strip()
    return None if value.lower() in _NO_TOKEN else value


def session_cookie(cookie_header: str) -> str | None:
    """Clerk's ``__session`` cookie (or a suffixed ``__session_<id>`` one)."""
    fallback = None
    for part in cookie_header.split(";"):
        name, _, value = part.strip().partition("=")
        value = value.strip().strip('"')
        if not value or value.lower() in _NO_TOKEN:
            continue
        if name == "__session":
            return value
        if name.startswith("__session_") and fallback is None:
            fallback = value
    return fallback


@dataclass(frozen=True)
class SigningKey:
    jwk: jwt.PyJWK
    declared_alg: str | None  # the key's own ``alg``, when the JWKS names one


class JwksCache:
    """Signing keys by ``kid``; refreshed when stale or on an unknown ``kid``, at most
    once per ``min_refresh_s`` whatever the reason, one fetch at a time."""

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        url: str,
        *,
        ttl_s: float = 300.0,
        min_refresh_s: float = 10.0,
    ) -> None:
        self.session = session
        self.url = url
        self.ttl_s = ttl_s
        self.min_refresh_s = min_refresh_s
        self.fetches = 0
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at = -float("inf")
        self._attempted_at = -float("inf")
        self._inflight: asyncio.Future[None] | None = None

    async def key(self, kid: str | None) -> SigningKey | None:
        now = time.monotonic()
        found = self._find(kid)
        stale = now - self._fetched_at > self.ttl_s
        if (found is None or stale) and now - self._attempted_at >= self.min_refresh_s:
            await self.refresh()
            found = self._find(kid)
        return found

    def _find(self, kid: str | None) -> SigningKey | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def refresh(self) -> None:
        if self._inflight is not None:
            await asyncio.shield(self._inflight)
            return
        self._inflight = asyncio.get_running_loop().create_future()
        self._attempted_at = time.monotonic()
        try:
            self._keys = await self._fetch()
            self._fetched_at = time.monotonic()
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, jwt.PyJWTError) as exc:
            # Keep the keys we have; try again after min_refresh_s.
            log.warning("JWKS refresh from %s failed: %s", self.url, exc)
        finally:
            self._inflight.set_result(None)
            self._inflight = None

    async def _fetch(self) -> dict[str, SigningKey]:
        self.fetches += 1
        timeout = aiohttp.ClientTimeout(total=5.0)
        async with self.session().get(self.url, timeout=timeout) as response:
            response.raise_for_status()
            document = json.loads(await response.read())
        keys: dict[str, SigningKey] = {}
        for jwk in document.get("keys", []):
            if jwk.get("use", "sig") != "sig" or jwk.get("kty") not in ("RSA", "EC", "OKP"):
                continue
            try:
                keys[str(jwk.get("kid", ""))] = SigningKey(jwt.PyJWK(jwk), jwk.get("alg"))
            except jwt.PyJWTError as exc:
                log.warning("skipping JWKS key %s: %s", jwk.get("kid"), exc)
        return keys


@dataclass
class Verified:
    """A verified caller: who, until when, and the internal token signed for them."""

    identity: Identity
    valid_until: float  # unix time
    internal: str | None = None
    internal_renew_at: float = 0.0


class Authenticator:
    def __init__(
        self,
        jwks: JwksCache,
        *,
        issuer: str | None,
        audience: str | None,
        authorized_parties: list[str],
        algorithms: list[str],
        leeway_s: int = 5,
        signer: InternalTokenSigner | None = None,
        internal_ttl_s: int = 60,
        admin_secret: str | None = None,
        cache_size: int = 10_000,
        cache_ttl_s: float = 300.0,
    ) -> None:
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.authorized_parties = set(authorized_parties)
        self.algorithms = [alg for alg in algorithms if alg.lower() != "none"]
        self.leeway_s = leeway_s
        self.signer = signer
        self.internal_ttl_s = internal_ttl_s
        self._admin_secret = admin_secret.encode() if admin_secret else None
        self._cache: OrderedDict[str, Verified] = OrderedDict()
        self._cache_size = cache_size
        self._cache_ttl_s = cache_ttl_s

    # -- bearer tokens -----------------------------------------------------------------

    async def verify(self, token: str) -> Verified:
        now = time.time()
        cached = self._cache.get(token)
        if cached is not None:
            if now < cached.valid_until:
                return cached
            del self._cache[token]
        claims = await self._claims(token)
        exp = float(claims["exp"]) + self.leeway_s
        verified = Verified(_identity_from_claims(claims), min(exp, now + self._cache_ttl_s))
        self._cache[token] = verified
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return verified

    async def _claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            algorithm = header.get("alg")
            if algorithm not in self.algorithms:
                raise AuthError(f"tokens signed with {algorithm!r} are not accepted")
            key = await self.jwks.key(header.get("kid"))
            if key is None:
                raise AuthError("the token's signing key is unknown")
            if key.declared_alg not in (None, algorithm):
                raise AuthError("the token's algorithm does not match its key")
            claims = jwt.decode(
                token,
                key.jwk.key,
                algorithms=[algorithm],
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway_s,
                options={
                    "require": ["exp", "sub"],
                    "verify_aud": self.audience is not None,
                    "verify_iss": self.issuer is not None,
                },
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("the token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise AuthError("the token is not valid yet") from exc
        except jwt.InvalidIssuerError as exc:
            raise AuthError("the token was issued by someone else") from exc
        except jwt.InvalidAudienceError as exc:
            raise AuthError("the token is meant for someone else") from exc
        except jwt.PyJWTError as exc:
            raise AuthError("the token is invalid") from exc
        azp = claims.get("azp")
        # Clerk's rule: a token that names its authorized party must name an allowed one.
        if self.authorized_parties and azp is not None and azp not in self.authorized_parties:
            raise AuthError("the token was requested by an unknown party")
        return claims

    # -- the admin secret --------------------------------------------------------------

    def admin_secret_refused(self, presented: str) -> bool:
        """True if the gateway knows the admin secret and ``presented`` is not it
        (compared in constant time). Without a configured secret the service decides."""
        if self._admin_secret is None:
            return False
        return not hmac.compare_digest(presented.encode(), self._admin_secret)

    # -- the identity forwarded to services --------------------------------------------

    def internal_token(self, verified: Verified) -> str | None:
        """The signed internal identity for ``verified``, re-signed at half its life."""
        if self.signer is None:
            return None
        now = time.monotonic()
        if verified.internal is None or now >= verified.internal_renew_at:
            verified.internal = self.signer.sign(verified.identity)
            verified.internal_renew_at = now + self.internal_ttl_s / 2
        return verified.internal


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
