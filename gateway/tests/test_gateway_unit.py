"""Gateway pieces in isolation: route table, token verification, circuit breaker."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from starlette.requests import Request

from folio_gateway.auth import Authenticator, JwksCache
from folio_gateway.dev_issuer import generate_rsa_keypair, jwks_for, mint_token
from folio_gateway.proxy import CircuitBreaker
from folio_gateway.routes import COMMUNITY, DEFAULT_ROUTES, TRANSLATION, USERS

PRIVATE, PUBLIC = generate_rsa_keypair()


@pytest.mark.parametrize(
    ("path", "upstream"),
    [
        ("/api/v1/jobs", TRANSLATION),
        ("/api/v1/jobs/12/segments", TRANSLATION),
        ("/api/v1/download/3", TRANSLATION),
        ("/api/v1/community/posts", COMMUNITY),
        ("/api/v1/community/announcements/stream", USERS),  # longer prefix wins
        ("/api/v1/admin/posts/4", COMMUNITY),
        ("/api/v1/users/me/token-usage", USERS),
        ("/api/v1/webhooks/clerk", USERS),
        ("/api/v1/jobsearch", None),  # whole segments only
        ("/api/v1/unknown", None),
    ],
)
def test_route_table(path, upstream):
    assert DEFAULT_ROUTES.upstream_for(path) == upstream


def jwks_client(counter: list[int], public_pem: str = PUBLIC) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        counter.append(1)
        return httpx.Response(200, json=jwks_for(public_pem))

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def request_with(token: str | None = None, cookie: str | None = None) -> Request:
    headers = []
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    if cookie:
        headers.append((b"cookie", f"__session={cookie}".encode()))
    return Request({"type": "http", "headers": headers, "method": "GET", "path": "/"})


def authenticator(client, **kw) -> Authenticator:
    return Authenticator(
        JwksCache(client, "https://issuer.example/jwks"),
        issuer=kw.pop("issuer", "folio-dev-issuer"),
        audience=kw.pop("audience", None),
        authorized_parties=kw.pop("authorized_parties", []),
    )


async def test_valid_token_yields_identity_with_role_from_public_metadata():
    calls: list[int] = []
    auth = authenticator(jwks_client(calls))
    identity = await auth.identify(request_with(mint_token(PRIVATE, PUBLIC, "user_9", admin=True)))
    assert identity is not None and identity.user_id == "user_9" and identity.role == "admin"
    assert await auth.identify(request_with(cookie=mint_token(PRIVATE, PUBLIC, "user_9")))
    assert len(calls) == 1  # the JWKS is cached


async def test_unknown_kid_triggers_one_refresh_then_fails():
    calls: list[int] = []
    auth = authenticator(jwks_client(calls))
    other_private, other_public = generate_rsa_keypair()
    assert await auth.identify(request_with(mint_token(other_private, other_public, "x"))) is None
    assert await auth.identify(request_with(mint_token(other_private, other_public, "x"))) is None
    assert len(calls) == 1  # refreshes on unknown keys are rate-limited


@pytest.mark.parametrize(
    ("token_kwargs", "auth_kwargs"),
    [
        ({"ttl_s": -30}, {}),
        ({"issuer": "https://evil.example"}, {}),
        ({}, {"audience": "folio-frontend"}),
        ({"audience": "someone-else"}, {"audience": "folio-frontend"}),
    ],
)
async def test_tokens_failing_a_claim_check_are_anonymous(token_kwargs, auth_kwargs):
    auth = authenticator(jwks_client([]), **auth_kwargs)
    token = mint_token(PRIVATE, PUBLIC, "u", **token_kwargs)
    assert await auth.identify(request_with(token)) is None


async def test_azp_must_be_an_authorized_party_when_configured():
    auth = authenticator(jwks_client([]), authorized_parties=["https://app.example"])
    now = int(time.time())
    claims = {"sub": "u", "iss": "folio-dev-issuer", "iat": now, "exp": now + 60}
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(PRIVATE.encode(), None)
    from folio_gateway.dev_issuer import key_id

    good = jwt.encode(
        {**claims, "azp": "https://app.example"}, key, "RS256", headers={"kid": key_id(PUBLIC)}
    )
    bad = jwt.encode(
        {**claims, "azp": "https://evil.example"}, key, "RS256", headers={"kid": key_id(PUBLIC)}
    )
    assert await auth.identify(request_with(good)) is not None
    assert await auth.identify(request_with(bad)) is None


async def test_non_rs256_tokens_are_anonymous():
    auth = authenticator(jwks_client([]))
    hs = jwt.encode({"sub": "u", "exp": int(time.time()) + 60}, "k" * 32, algorithm="HS256")
    assert await auth.identify(request_with(hs)) is None
    assert await auth.identify(request_with("not-a-token")) is None


def test_circuit_breaker_opens_after_consecutive_failures_and_probes_after_cooldown():
    breaker = CircuitBreaker(threshold=3, cooldown_s=0.05)
    for _ in range(3):
        assert breaker.allow()
        breaker.failure()
    assert not breaker.allow()
    time.sleep(0.06)
    assert breaker.allow()  # one probe
    assert not breaker.allow()
    breaker.success()
    assert breaker.allow()
