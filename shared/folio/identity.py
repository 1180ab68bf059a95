"""Identity as services see it: a short-lived token signed by the gateway.

The gateway authenticates the end user (Clerk-compatible JWT), strips any identity
headers the client sent, and forwards the identity as an EdDSA-signed JWT in
``X-Folio-Identity``. Services verify it with the gateway's public key only, so a
compromised service cannot mint identities and a client cannot forge one, whether it
goes through the gateway or straight to a service.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, Request
from pydantic import BaseModel

from folio.errors import Problem

IDENTITY_HEADER = "x-folio-identity"
# Headers a client must never be able to set: the gateway drops them on the way in.
CLIENT_FORBIDDEN_HEADERS = frozenset(
    {IDENTITY_HEADER, "x-user-id", "x-user-role", "x-user-email", "x-forwarded-user"}
)
ALGORITHM = "EdDSA"

Role = Literal["user", "moderator", "admin", "super_admin"]
ADMIN_ROLES = frozenset({"admin", "super_admin"})


class Identity(BaseModel, frozen=True):
    """Who is calling. ``user_id`` is the identity provider's subject (e.g. Clerk's).

    ``role`` is what services use by default; ``claimed_role`` is the role the identity
    provider itself asserted (Clerk's ``public_metadata.role``), None when its token
    carried none. A service that keeps roles of its own (user-service, and read models
    of it) lets a claimed role win and uses its own record otherwise.
    """

    user_id: str
    role: Role = "user"
    email: str | None = None
    name: str | None = None
    claimed_role: Role | None = None

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES


def generate_ed25519_keypair() -> tuple[str, str]:
    """A fresh (private PEM, public PEM) pair for the internal token."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


class InternalTokenSigner:
    """Used by the gateway only."""

    def __init__(self, private_key_pem: str, issuer: str, audience: str, ttl_s: int = 60) -> None:
        self._key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        self._issuer = issuer
        self._audience = audience
        self._ttl_s = ttl_s

    def sign(self, identity: Identity, request_id: str | None = None) -> str:
        now = int(time.time())
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": identity.user_id,
            "role": identity.role,
            "email": identity.email,
            "name": identity.name,
            "claimed_role": identity.claimed_role,
            "iat": now,
            "exp": now + self._ttl_s,
            "jti": uuid.uuid4().hex,
        }
        if request_id:
            claims["rid"] = request_id
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)  # type: ignore[arg-type]


class InternalTokenVerifier:
    """Used by every service behind the gateway."""

    def __init__(self, public_key_pem: str, issuer: str, audience: str, leeway_s: int = 5) -> None:
        self._key = serialization.load_pem_public_key(public_key_pem.encode())
        self._issuer = issuer
        self._audience = audience
        self._leeway_s = leeway_s

    def verify(self, token: str) -> Identity:
        try:
            claims = jwt.decode(
                token,
                self._key,  # type: ignore[arg-type]
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway_s,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
            role = claims.get("role") or "user"
            # A gateway that predates claimed_role only sent roles the provider claimed.
            claimed = claims["claimed_role"] if "claimed_role" in claims else role
            return Identity(
                user_id=claims["sub"],
                role=role,
                email=claims.get("email"),
                name=claims.get("name"),
                claimed_role=claimed,
            )
        except (jwt.PyJWTError, ValueError) as exc:
            raise Problem(
                401,
                "The identity token is invalid or expired.",
                headers={"WWW-Authenticate": "Bearer"},
            ) from exc


def _verifier(request: Request) -> InternalTokenVerifier:
    verifier = getattr(request.app.state, "identity_verifier", None)
    if verifier is None:
        # A service that serves identity-dependent routes must be configured with the key;
        # failing closed is the only safe answer.
        raise Problem(503, "This service is not configured to verify identities.")
    return verifier


async def optional_identity(request: Request) -> Identity | None:
    token = request.headers.get(IDENTITY_HEADER)
    if not token:
        return None
    return _verifier(request).verify(token)


async def required_identity(
    identity: Annotated[Identity | None, Depends(optional_identity)],
) -> Identity:
    if identity is None:
        raise Problem(401, "Authentication required.", headers={"WWW-Authenticate": "Bearer"})
    return identity


async def admin_identity(identity: Annotated[Identity, Depends(required_identity)]) -> Identity:
    if not identity.is_admin:
        raise Problem(403, "Administrator role required.")
    return identity


OptionalIdentity = Annotated[Identity | None, Depends(optional_identity)]
CurrentIdentity = Annotated[Identity, Depends(required_identity)]
AdminIdentity = Annotated[Identity, Depends(admin_identity)]
