"""community-service in process, on a real database and its own RabbitMQ virtual host."""

from __future__ import annotations

import uuid

import pytest

from folio.identity import IDENTITY_HEADER, Identity
from folio_community.main import create_app
from folio_community.settings import CommunitySettings
from folio_devstack.pytest_plugin import running_app


@pytest.fixture
async def service(test_database, module_amqp_url, internal_public_key, folio_infra, tmp_path):
    settings = CommunitySettings(
        database_url=test_database.url("community"),
        rabbitmq_url=module_amqp_url,
        internal_token_public_key=internal_public_key,
        storage_dir=tmp_path / "storage",
        redis_url="redis://127.0.0.1:6379/0" if folio_infra.redis else None,
        redis_prefix=f"folio-test-{uuid.uuid4().hex[:8]}",
        outbox_poll_interval_s=0.2,
        max_image_bytes=512 * 1024,
        max_image_pixels=4_000_000,
    )
    app = create_app(settings)
    async with running_app(app) as client:
        yield app, client


@pytest.fixture
def as_user(internal_signer):
    def headers(user_id: str, role: str = "user", **claims) -> dict[str, str]:  # type: ignore[no-untyped-def]
        claims.setdefault("claimed_role", role)
        identity = Identity(user_id=user_id, role=role, name=claims.pop("name", user_id), **claims)
        return {IDENTITY_HEADER: internal_signer.sign(identity)}

    return headers
