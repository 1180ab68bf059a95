"""Authentication at the gateway, every case, through the real gateway process in front of
real HTTP services (which report the identity they were given)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from folio.identity import (
    IDENTITY_HEADER,
    Identity,
    InternalTokenSigner,
    InternalTokenVerifier,
    generate_ed25519_keypair,
)
from folio_gateway.dev_issuer import generate_rsa_keypair, key_id

from .conftest import FRONTEND, ISSUER, bearer

USER_ROUTE = "/api/v1/users/me?fake=echo"
PUBLIC_ROUTE = "/api/v1/community/categories?fake=echo"
ANNOUNCEMENTS = "/api/v1/community/announcements?fake=echo"


def sign(private_pem: str, public_pem: str, alg: str = "RS256", kid: str | None = "", **claims):  # type: ignore[no-untyped-def]
    now = int(time.time())
    payload = {"iss": ISSUER, "sub": "user_1", "iat": now, "nbf": now - 5, "exp": now + 60}
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    key = serialization.load_pem_private_key(private_pem.encode(), None)
    headers = {"kid": key_id(public_pem) if kid == "" else kid}
    if kid is None:
        headers = {}
    return jwt.encode(payload, key, algorithm=alg, headers=headers)  # type: ignore[arg-type]


def seen(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    headers: dict[str, list[str]] = {}
    for name, value in response.json()["headers"]:
        headers.setdefault(name, []).append(value)
    return headers


def identity_seen(response, keys) -> Identity | None:  # type: ignore[no-untyped-def]
    values = seen(response).get(IDENTITY_HEADER)
    if not values:
        return None
    assert len(values) == 1
    verifier = InternalTokenVerifier(keys.internal_public, "folio-gateway", "folio-internal")
    return verifier.verify(values[0])


def assert_unauthenticated(response, reason: str | None = None) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 401 and body["request_id"] == response.headers["x-request-id"]
    if reason:
        assert reason in body["detail"], body
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_a_valid_token_identifies_the_user_to_the_service(client, keys):
    token = sign(keys.issuer_private, keys.issuer_public, sub="user_valid", email="v@x.test")
    response = await client.get(USER_ROUTE, headers=bearer(token))
    assert response.status_code == 200, response.text
    identity = identity_seen(response, keys)
    assert identity is not None and identity.user_id == "user_valid"
    assert identity.email == "v@x.test" and identity.role == "user"
    # The end user's token itself is consumed at the edge, never forwarded.
    assert "authorization" not in seen(response)


async def test_the_session_cookie_works_and_other_cookies_are_not_forwarded(client, keys):
    token = sign(keys.issuer_private, keys.issuer_public, sub="user_cookie")
    response = await client.get(
        USER_ROUTE, headers={"Cookie": f"theme=dark; __session={token}; other=1"}
    )
    assert response.status_code == 200, response.text
    assert identity_seen(response, keys).user_id == "user_cookie"
    assert "cookie" not in seen(response)


async def test_roles_come_from_public_metadata(client, keys):
    token = sign(
        keys.issuer_private, keys.issuer_public, sub="boss", public_metadata={"role": "admin"}
    )
    response = await client.get(USER_ROUTE, headers=bearer(token))
    assert identity_seen(response, keys).role == "admin"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": -60}, "expired"),  # time claims: seconds from now, when the test runs
        ({"nbf": 120}, "not valid yet"),
        ({"iss": "https://evil.example"}, "issued by someone else"),
        ({"azp": "https://evil.example"}, "unknown party"),
        ({"exp": None}, "invalid"),
    ],
    ids=["expired", "not-yet-valid", "wrong-issuer", "wrong-azp", "no-expiry"],
)
async def test_tokens_failing_a_check_are_refused_on_protected_routes(client, keys, claims, reason):
    now = int(time.time())
    claims = {k: now + v if k in ("exp", "nbf") and v is not None else v for k, v in claims.items()}
    token = sign(keys.issuer_private, keys.issuer_public, **claims)
    assert_unauthenticated(await client.get(USER_ROUTE, headers=bearer(token)), reason)
    # On a public route the same caller is simply anonymous.
    response = await client.get(PUBLIC_ROUTE, headers=bearer(token))
    assert response.status_code == 200 and identity_seen(response, keys) is None


async def test_small_clock_skew_is_tolerated(client, keys):
    now = int(time.time())
    token = sign(keys.issuer_private, keys.issuer_public, exp=now - 2, nbf=now + 2)
    assert (await client.get(USER_ROUTE, headers=bearer(token))).status_code == 200


async def test_an_authorized_party_or_none_is_accepted(client, keys):
    for azp in (FRONTEND, None):
        token = sign(keys.issuer_private, keys.issuer_public, azp=azp, jti=uuid.uuid4().hex)
        assert (await client.get(USER_ROUTE, headers=bearer(token))).status_code == 200, azp


async def test_an_unknown_kid_refetches_the_jwks_once_then_accepts_the_rotated_key(
    client, keys, backends
):
    new_private, new_public = generate_rsa_keypair()
    token = sign(new_private, new_public, sub="after-rotation")
    assert_unauthenticated(await client.get(USER_ROUTE, headers=bearer(token)))
    backends.jwks.public_pems.append(new_public)  # the provider rotates its keys
    await asyncio.sleep(1.1)  # refetches on unknown keys are at most one a second here
    fetched = backends.jwks.fetches
    response = await client.get(USER_ROUTE, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert identity_seen(response, keys).user_id == "after-rotation"
    assert backends.jwks.fetches == fetched + 1
    # Tokens naming keys nobody has cannot make the gateway hammer the provider.
    stranger_private, stranger_public = generate_rsa_keypair()
    fetched = backends.jwks.fetches
    started = time.monotonic()
    for _ in range(10):
        forged = sign(stranger_private, stranger_public, jti=uuid.uuid4().hex)
        assert_unauthenticated(await client.get(USER_ROUTE, headers=bearer(forged)))
    # At most one refetch per second (the setting here), however slow the machine is.
    allowed = 1 + int(time.monotonic() - started)
    assert backends.jwks.fetches - fetched <= allowed


async def test_a_foreign_key_under_a_known_kid_is_refused(client, keys):
    foreign_private, _ = generate_rsa_keypair()
    token = sign(foreign_private, keys.issuer_public)  # right kid, wrong key
    assert_unauthenticated(await client.get(USER_ROUTE, headers=bearer(token)), "invalid")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict, claims: dict, signature: bytes = b"") -> str:
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(claims).encode())
    return f"{head}.{body}.{_b64(signature)}"


def _claims() -> dict:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "sub": "attacker",
        "iat": now,
        "exp": now + 60,
        "public_metadata": {"role": "admin"},
    }


async def test_alg_none_is_refused(client, keys):
    token = _unsigned({"alg": "none", "typ": "JWT", "kid": key_id(keys.issuer_public)}, _claims())
    assert_unauthenticated(await client.get(USER_ROUTE, headers=bearer(token)), "not accepted")


async def test_hs256_signed_with_the_public_key_is_refused(client, keys):
    header = {"alg": "HS256", "typ": "JWT", "kid": key_id(keys.issuer_public)}
    signing_input = _unsigned(header, _claims()).rsplit(".", 1)[0]
    mac = hmac.new(keys.issuer_public.encode(), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{_b64(mac)}"
    assert_unauthenticated(await client.get(USER_ROUTE, headers=bearer(token)), "not accepted")


@pytest.mark.parametrize("value", ["", "Bearer", "Bearer null", "Bearer undefined", "null"])
async def test_empty_and_null_bearers_are_anonymous(client, keys, value):
    response = await client.get(PUBLIC_ROUTE, headers={"Authorization": value})
    assert response.status_code == 200 and identity_seen(response, keys) is None
    assert_unauthenticated(await client.get(USER_ROUTE, headers={"Authorization": value}))


async def test_identity_headers_from_the_client_never_reach_a_service(client, keys):
    forged = InternalTokenSigner(generate_ed25519_keypair()[0], "folio-gateway", "folio-internal")
    forged_token = forged.sign(Identity(user_id="attacker", role="admin"))
    smuggled = {
        IDENTITY_HEADER: forged_token,
        "X-User-Id": "attacker",
        "X-User-Role": "admin",
        "X-User-Email": "a@evil.test",
        "X-Forwarded-User": "attacker",
        "X-Folio-Anything": "1",
    }
    # Anonymous: refused at the edge, not believed.
    assert_unauthenticated(await client.get(USER_ROUTE, headers=smuggled))
    # Public route: the service sees none of them.
    response = await client.get(PUBLIC_ROUTE, headers=smuggled)
    headers = seen(response)
    assert not {name.lower() for name in smuggled} & set(headers), headers
    # Signed in: the service sees only the gateway's own identity for the real user.
    token = sign(keys.issuer_private, keys.issuer_public, sub="honest")
    response = await client.get(USER_ROUTE, headers={**smuggled, **bearer(token)})
    assert identity_seen(response, keys).user_id == "honest"
    assert "x-user-id" not in seen(response)


async def test_the_admin_secret_is_checked_here_and_passed_on_for_announcement_changes_only(
    client, keys, backends
):
    secret = {"x-admin-secret": "s3cret-admin-value"}
    response = await client.post(ANNOUNCEMENTS, headers=secret, json={"message": "hi"})
    assert response.status_code == 200, response.text
    # The service's own guard (secret or admin role) sees the checked secret, and no
    # identity is made up for it.
    assert seen(response)["x-admin-secret"] == ["s3cret-admin-value"]
    assert identity_seen(response, keys) is None

    hits = len(backends.users.hits)
    wrong = await client.post(ANNOUNCEMENTS, headers={"x-admin-secret": "s3cret-admin-valuf"})
    assert wrong.status_code == 403
    assert wrong.json()["detail"] == "Invalid or missing admin secret key"  # the upstream's
    assert len(backends.users.hits) == hits  # refused before the service

    # Elsewhere the header means nothing and goes nowhere.
    assert_unauthenticated(await client.get(USER_ROUTE, headers=secret))
    response = await client.get(PUBLIC_ROUTE, headers=secret)
    assert identity_seen(response, keys) is None and "x-admin-secret" not in seen(response)
    token = sign(keys.issuer_private, keys.issuer_public, sub="nosy")
    response = await client.get(USER_ROUTE, headers={**secret, **bearer(token)})
    assert "x-admin-secret" not in seen(response)


async def test_announcement_changes_are_left_to_the_services_guard(client, keys):
    # Without the secret the request reaches user-service, which decides by role (and
    # answers the upstream's 403); a signed-in admin's identity goes with it.
    anonymous = await client.post(ANNOUNCEMENTS, json={"message": "hi"})
    assert anonymous.status_code == 200 and identity_seen(anonymous, keys) is None
    admin = sign(
        keys.issuer_private, keys.issuer_public, sub="ops", public_metadata={"role": "admin"}
    )
    response = await client.put(
        "/api/v1/community/announcements/3?fake=echo", headers=bearer(admin), json={}
    )
    assert response.status_code == 200
    identity = identity_seen(response, keys)
    assert identity.user_id == "ops" and identity.role == "admin"
    assert (await client.get(ANNOUNCEMENTS)).status_code == 200


async def test_a_session_is_verified_once(client, keys, backends):
    token = sign(keys.issuer_private, keys.issuer_public, sub="busy", jti=uuid.uuid4().hex)
    fetched = backends.jwks.fetches
    for _ in range(20):
        assert (await client.get(USER_ROUTE, headers=bearer(token))).status_code == 200
    assert backends.jwks.fetches == fetched
