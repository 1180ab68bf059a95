"""What translation-service's in-process tests share: the app on a real database and a
real broker (its own virtual host). Helpers live in ``translation_wire``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from folio.credentials import generate_key
from folio_devstack.pytest_plugin import running_app
from folio_translation.main import create_app
from folio_translation.settings import TranslationSettings

# The test modules import their helpers (translation_wire) from this directory.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
async def service(test_database, module_amqp_url, internal_public_key, tmp_path):
    settings = TranslationSettings(
        database_url=test_database.url("translation"),
        rabbitmq_url=module_amqp_url,
        storage_dir=tmp_path / "storage",
        internal_token_public_key=internal_public_key,
        credentials_key=generate_key(),
        max_upload_bytes=64 * 1024,
        dispatch_window=3,
        outbox_poll_interval_s=0.2,
    )
    app = create_app(settings)
    async with running_app(app) as client:
        yield app, client
