"""In production settings a user's provider URLs must be public https: private, loopback,
link-local and metadata addresses are refused with 422 before any job exists."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select
from translation_wire import auth, upload

from folio.credentials import generate_key
from folio_devstack.pytest_plugin import running_app
from folio_translation.main import create_app
from folio_translation.models import Job
from folio_translation.settings import TranslationSettings


@pytest.fixture(scope="module")
async def production(test_database, internal_public_key, tmp_path_factory):
    settings = TranslationSettings(
        environment="production",
        database_url=test_database.url("translation"),
        # Production refuses the default guest account; nothing here needs the broker.
        rabbitmq_url="amqp://folio:not-a-default-password@127.0.0.1:1/",
        storage_dir=tmp_path_factory.mktemp("prod-storage"),
        internal_token_public_key=internal_public_key,
        credentials_key=generate_key(),
    )
    app = create_app(settings)
    async with running_app(app) as client:
        yield app, client


def service_account(token_uri: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return json.dumps(
        {
            "project_id": "p",
            "client_email": "sa@p.iam.gserviceaccount.com",
            "private_key": pem,
            "token_uri": token_uri,
        }
    )


@pytest.mark.parametrize(
    "base_url",
    [
        "https://10.0.0.8/v1",
        "https://192.168.0.2:8000/v1",
        "https://127.0.0.1:8080/v1",
        "https://[::1]/v1",
        "https://169.254.169.254/latest",
        "https://metadata.google.internal/v1",
        "https://2130706433/v1",
        "http://api.openai.com/v1",
    ],
)
async def test_a_private_or_metadata_api_base_url_is_refused(production, internal_signer, base_url):
    app, client = production
    response = await client.post(
        "/api/v1/jobs",
        headers=auth(internal_signer, "prod-user"),
        **upload(api_provider="openai", api_key="sk-live-SECRET", api_base_url=base_url),
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "api_base_url" in response.json()["detail"]
    assert "sk-live-SECRET" not in response.text
    async with app.state.database.transaction() as session:
        count = (
            await session.execute(
                select(func.count()).select_from(Job).where(Job.owner_id == "prod-user")
            )
        ).scalar_one()
    assert count == 0


async def test_a_service_account_pointing_inside_the_cluster_is_refused(
    production, internal_signer
):
    _, client = production
    response = await client.post(
        "/api/v1/jobs",
        headers=auth(internal_signer, "prod-user"),
        **upload(
            api_provider="vertex",
            provider_config=service_account("http://169.254.169.254/token"),
        ),
    )
    assert response.status_code == 422, response.text
    assert "token_uri" in response.json()["detail"]
    assert "PRIVATE KEY" not in response.text
