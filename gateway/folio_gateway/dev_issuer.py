"""A development identity provider: an RSA key pair, its JWKS, and a token minter.

It lets the whole stack run without Clerk. The gateway serves the JWKS only when a
development public key is configured (never in production); ``scripts/dev-token`` mints
tokens with the private key kept under ``.dev/``.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEV_ISSUER = "folio-dev-issuer"


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def generate_rsa_keypair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def key_id(public_pem: str) -> str:
    return hashlib.sha256(public_pem.strip().encode()).hexdigest()[:16]


def jwks_for(public_pem: str) -> dict:
    public = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    numbers = public.public_numbers()
    return {
        "keys": [
            {
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": key_id(public_pem),
                "n": _b64(numbers.n),
                "e": _b64(numbers.e),
            }
        ]
    }


def mint_token(
    private_pem: str,
    public_pem: str,
    user_id: str,
    *,
    admin: bool = False,
    issuer: str = DEV_ISSUER,
    ttl_s: int = 24 * 3600,
    email: str | None = None,
    name: str | None = None,
    audience: str | None = None,
    role: str | None = "user",
) -> str:
    """A development token; ``role`` is its ``public_metadata.role`` (``admin=True`` means
    "admin"; None leaves the claim out, as a Clerk user without metadata has)."""
    now = int(time.time())
    claims: dict = {
        "iss": issuer,
        "sub": user_id,
        "iat": now,
        "nbf": now - 5,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
        "email": email or f"{user_id}@example.invalid",
        "name": name or user_id,
    }
    if admin or role is not None:
        claims["public_metadata"] = {"role": "admin" if admin else role}
    if audience:
        claims["aud"] = audience
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": key_id(public_pem)})  # type: ignore[arg-type]
