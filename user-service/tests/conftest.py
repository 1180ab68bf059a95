"""user-service in process, on a real database and its own RabbitMQ virtual host."""

from __future__ import annotations

import uuid

import pytest

from folio.identity import IDENTITY_HEADER, Identity
from folio_devstack.pytest_plugin import running_app
from folio_users.main import create_app
from folio_users.settings import UserSettings

WEBHOOK_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ADMIN_SECRET = "an-admin-secret-for-tests"


@pytest.fixture
async def service(test_database, module_amqp_url, internal_public_key, folio_infra):
    settings = UserSettings(
        database_url=test_database.url("users"),
        rabbitmq_url=module_amqp_url,
        internal_token_public_key=internal_public_key,
        clerk_webhook_secret=WEBHOOK_SECRET,
        admin_secret=ADMIN_SECRET,
        redis_url="redis://127.0.0.1:6379/0" if folio_infra.redis else None,
        redis_prefix=f"folio-test-{uuid.uuid4().hex[:8]}",
        outbox_poll_interval_s=0.2,
    )
    app = create_app(settings)
    async with running_app(app) as client:
        yield app, client


@pytest.fixture
def as_user(internal_signer):
    def headers(user_id: str, **claims) -> dict[str, str]:  # type: ignore[no-untyped-def]
        claims.setdefault("role", claims.get("claimed_role") or "user")
        claims.setdefault("claimed_role", claims["role"])
        return {IDENTITY_HEADER: internal_signer.sign(Identity(user_id=user_id, **claims))}

    return headers
