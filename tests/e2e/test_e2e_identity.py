"""Identity at the edge and behind it: forged identities are refused everywhere."""

from __future__ import annotations

import httpx
import jwt
import pytest

from folio.identity import IDENTITY_HEADER, Identity, InternalTokenSigner, generate_ed25519_keypair
from folio_gateway.dev_issuer import generate_rsa_keypair, mint_token

from .conftest import submit

FORGER = InternalTokenSigner(generate_ed25519_keypair()[0], "folio-gateway", "folio-internal")
FORGED_ADMIN = FORGER.sign(Identity(user_id="attacker", role="admin"))


async def test_protected_route_without_a_token_is_401_problem_json(gateway):
    for method, path in (
        ("GET", "/api/v1/jobs"),
        ("DELETE", "/api/v1/jobs/1"),
        ("POST", "/api/v1/jobs"),
        ("GET", "/api/v1/users/me"),
    ):
        response = await gateway.request(method, path)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 401


async def test_a_minted_development_token_works(gateway, dev_token):
    response = await gateway.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {dev_token('id-user')}"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["clerk_user_id"] == "id-user"
    assert response.json()["role"] == "user"
    admin = await gateway.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {dev_token('id-admin', admin=True)}"}
    )
    assert admin.json()["role"] == "admin"


async def test_identity_headers_sent_to_the_gateway_are_stripped(gateway):
    for header, value in ((IDENTITY_HEADER, FORGED_ADMIN), ("x-user-id", "someone")):
        response = await gateway.get("/api/v1/users/me", headers={header: value})
        assert response.status_code == 401, (header, response.text)


async def test_a_forged_internal_token_sent_straight_to_a_service_is_refused(stack):
    async with httpx.AsyncClient(base_url=stack.config.url("translation-service")) as direct:
        response = await direct.get("/api/v1/jobs/1", headers={IDENTITY_HEADER: FORGED_ADMIN})
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
    async with httpx.AsyncClient(base_url=stack.config.url("user-service")) as direct:
        response = await direct.get("/api/v1/users/me", headers={IDENTITY_HEADER: "not.a.jwt"})
        assert response.status_code == 401


@pytest.mark.parametrize("case", ["foreign-key", "expired", "wrong-issuer", "garbage"])
async def test_bad_bearer_tokens_do_not_authenticate(gateway, case):
    private, public = generate_rsa_keypair()
    if case == "foreign-key":
        token = mint_token(private, public, "intruder", admin=True)
    elif case == "expired":
        from folio_devstack.cli import STATE_DIR
        from folio_devstack.secrets import load_or_create

        secrets = load_or_create(STATE_DIR)
        token = mint_token(
            secrets.issuer_private_pem, secrets.issuer_public_pem, "late", ttl_s=-3600
        )
    elif case == "wrong-issuer":
        from folio_devstack.cli import STATE_DIR
        from folio_devstack.secrets import load_or_create

        secrets = load_or_create(STATE_DIR)
        token = mint_token(
            secrets.issuer_private_pem,
            secrets.issuer_public_pem,
            "elsewhere",
            issuer="https://evil.example",
        )
    else:
        token = jwt.encode({"sub": "x"}, "a-shared-secret-that-is-32-bytes-long", algorithm="HS256")
    response = await gateway.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_jobs_are_only_visible_to_their_owner_and_admins(gateway, dev_token):
    owner = dev_token("owner-a")
    job = await submit(gateway, owner, "private.txt", b"A private book.\n\nWith two paragraphs.")
    path = f"/api/v1/jobs/{job['id']}"
    assert (
        await gateway.get(path, headers={"Authorization": f"Bearer {owner}"})
    ).status_code == 200
    stranger = await gateway.get(path, headers={"Authorization": f"Bearer {dev_token('stranger')}"})
    assert stranger.status_code == 404
    admin = await gateway.get(
        path, headers={"Authorization": f"Bearer {dev_token('boss', admin=True)}"}
    )
    assert admin.status_code == 200


async def test_session_cookie_is_accepted_like_a_bearer_token(gateway, dev_token):
    response = await gateway.get(
        "/api/v1/users/me", cookies={"__session": dev_token("cookie-user")}
    )
    assert response.status_code == 200
    assert response.json()["clerk_user_id"] == "cookie-user"
