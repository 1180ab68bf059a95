"""Identity tokens: only the gateway's key signs; forged, expired or foreign tokens fail."""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from folio.errors import Problem
from folio.identity import (
    Identity,
    InternalTokenSigner,
    InternalTokenVerifier,
    generate_ed25519_keypair,
)


@pytest.fixture(scope="module")
def keys():
    return generate_ed25519_keypair()


def signer(private_pem, **kw):
    return InternalTokenSigner(private_pem, issuer="folio-gateway", audience="folio-internal", **kw)


def verifier(public_pem):
    return InternalTokenVerifier(public_pem, issuer="folio-gateway", audience="folio-internal")


def test_round_trip_keeps_the_identity(keys):
    private, public = keys
    identity = Identity(user_id="user_1", role="admin", email="a@example.org", name="A")
    assert verifier(public).verify(signer(private).sign(identity, "req-1")) == identity
    assert identity.is_admin


def test_token_signed_by_another_key_is_refused(keys):
    _, public = keys
    other_private, _ = generate_ed25519_keypair()
    token = signer(other_private).sign(Identity(user_id="attacker", role="admin"))
    with pytest.raises(Problem) as info:
        verifier(public).verify(token)
    assert info.value.status == 401


def test_expired_token_is_refused(keys):
    private, public = keys
    token = signer(private, ttl_s=-60).sign(Identity(user_id="u"))
    with pytest.raises(Problem):
        verifier(public).verify(token)


def test_unsigned_and_hmac_tokens_are_refused(keys):
    _, public = keys
    now = int(time.time())
    claims = {
        "iss": "folio-gateway",
        "aud": "folio-internal",
        "sub": "u",
        "role": "admin",
        "iat": now,
        "exp": now + 60,
    }
    for token in (
        jwt.encode(claims, None, algorithm="none"),
        _hs256_with_public_key(claims, public),  # the classic key-confusion forgery
    ):
        with pytest.raises(Problem):
            verifier(public).verify(token)


def test_wrong_audience_is_refused(keys):
    private, public = keys
    token = InternalTokenSigner(private, issuer="folio-gateway", audience="elsewhere").sign(
        Identity(user_id="u")
    )
    with pytest.raises(Problem):
        verifier(public).verify(token)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with_public_key(claims: dict, public_pem: str) -> str:
    signing_input = (
        _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        + "."
        + _b64(json.dumps(claims).encode())
    )
    signature = hmac.new(public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"
