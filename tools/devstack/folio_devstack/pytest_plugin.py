"""Pytest fixtures for tests that need the real infrastructure or the whole stack.

Everything is real: PostgreSQL and RabbitMQ on this machine (started if they are down),
a fresh database and a fresh RabbitMQ virtual host per test session (so tests never
touch a running development stack), services as real processes on free ports. Only the
LLM is faked, by the fake LLM server over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import asyncpg
import pytest

from folio_devstack import infra
from folio_devstack.cli import STATE_DIR, resolve_admin_url
from folio_devstack.otlp import OtlpReceiver
from folio_devstack.secrets import load_or_create
from folio_devstack.stack import Stack, StackConfig
from folio_devstack.tokens import mint_dev_token


@dataclass(frozen=True)
class Infra:
    admin_url: str
    secrets_dir: Path
    redis: bool


@dataclass(frozen=True)
class TestDatabase:
    name: str
    admin_url: str
    passwords: dict[str, str]

    def url(self, schema: str) -> str:
        return (
            f"postgresql+asyncpg://folio_{schema}:{self.passwords[schema]}@127.0.0.1:5432/"
            f"{self.name}"
        )


@pytest.fixture(scope="session")
def folio_infra() -> Infra:
    infra.ensure_postgres()
    infra.ensure_rabbitmq()
    redis = infra.ensure_redis()
    return Infra(admin_url=resolve_admin_url(STATE_DIR), secrets_dir=STATE_DIR, redis=redis)


RUN_ID = uuid.uuid4().hex[:8]


def _new_vhost(purpose: str) -> tuple[str, str]:
    vhost = f"folio-test-{RUN_ID}-{purpose}"
    if not infra.ensure_vhost(vhost):
        pytest.fail(f"cannot create RabbitMQ virtual host {vhost} (rabbitmqctl unavailable)")
    return vhost, f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost, safe='')}"


@pytest.fixture(scope="session")
def amqp_vhost(folio_infra: Infra) -> Iterator[Callable[[str], str]]:
    """A factory of fresh virtual hosts for the session; returns the AMQP URL of each.

    Every virtual host carries a full topology of quorum queues, and RabbitMQ slows down
    as they pile up: prefer the module-scoped ``module_amqp_url`` where it is enough.
    """
    created: list[str] = []

    def make(purpose: str) -> str:
        vhost, url = _new_vhost(purpose)
        created.append(vhost)
        return url

    yield make
    for vhost in created:
        infra.delete_vhost(vhost)


@pytest.fixture(scope="module")
def module_amqp_url(folio_infra: Infra, request: pytest.FixtureRequest) -> Iterator[str]:
    """One virtual host for a test module, deleted when the module is done."""
    vhost, url = _new_vhost(f"m{uuid.uuid4().hex[:6]}")
    yield url
    infra.delete_vhost(vhost)


@pytest.fixture(scope="session")
async def database_factory(
    folio_infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Callable[[], Awaitable[TestDatabase]]]:
    """Makes fresh, migrated databases. Each stack needs its own: two stacks sharing a
    schema would relay each other's outbox rows to the wrong workers."""
    created: list[str] = []

    async def make() -> TestDatabase:
        name = f"folio_test_{uuid.uuid4().hex[:8]}"
        created.append(name)
        config = StackConfig(
            state_dir=tmp_path_factory.mktemp("db-bootstrap"),
            database=name,
            admin_url=folio_infra.admin_url,
            secrets_dir=folio_infra.secrets_dir,
        )
        stack = Stack(config)
        await stack.prepare_database()
        return TestDatabase(name, folio_infra.admin_url, stack.secrets.db_passwords)

    yield make
    conn = await asyncpg.connect(folio_infra.admin_url)
    try:
        for name in created:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def test_database(database_factory) -> TestDatabase:
    return await database_factory()


@pytest.fixture(scope="session")
def otlp_receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


def stack_config(
    base: Path, database: TestDatabase, amqp_url: str, infra_: Infra, **overrides: object
) -> StackConfig:
    overrides.setdefault("redis_prefix", f"folio-test-{uuid.uuid4().hex[:8]}")
    return StackConfig.with_free_ports(
        state_dir=base,
        database=database.name,
        admin_url=database.admin_url,
        amqp_url=amqp_url,
        secrets_dir=infra_.secrets_dir,
        redis_url="redis://127.0.0.1:6379/0" if infra_.redis else None,
        **overrides,
    )


@pytest.fixture(scope="session")
async def stack(
    folio_infra: Infra,
    test_database: TestDatabase,
    amqp_vhost: Callable[[str], str],
    otlp_receiver: OtlpReceiver,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    """The whole stack, shared by the end-to-end tests of a session."""
    config = stack_config(
        tmp_path_factory.mktemp("stack"),
        test_database,
        amqp_vhost("stack"),
        folio_infra,
        otlp_endpoint=otlp_receiver.endpoint,
    )
    running = Stack(config)
    try:
        await running.start()
        yield running
    finally:
        await asyncio.to_thread(running.stop)


@pytest.fixture(scope="session")
def dev_token(folio_infra: Infra) -> Callable[..., str]:
    def mint(user_id: str, *, admin: bool = False, **claims) -> str:  # type: ignore[no-untyped-def]
        """``role=`` sets another role claim (None: none at all); ``name=``, ``email=``."""
        return mint_dev_token(folio_infra.secrets_dir, user_id, admin=admin, **claims)

    load_or_create(folio_infra.secrets_dir)
    return mint


async def wait_until(predicate, *, timeout_s: float = 30, interval_s: float = 0.1):  # type: ignore[no-untyped-def]
    """Poll an async predicate until it returns a truthy value (that value is returned)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        with contextlib.suppress(AssertionError):
            value = await predicate()
            if value:
                return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s}s")
        await asyncio.sleep(interval_s)


@contextlib.asynccontextmanager
async def running_app(app) -> AsyncIterator:  # type: ignore[no-untyped-def]
    """Run an ASGI app's lifespan and give an in-process HTTP client for it."""
    import httpx

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client


@pytest.fixture(scope="session")
def internal_signer(folio_infra: Infra):
    """Signs identities exactly as the gateway does (same development key)."""
    from folio.identity import InternalTokenSigner

    secrets = load_or_create(folio_infra.secrets_dir)
    return InternalTokenSigner(
        secrets.internal_private_pem, issuer="folio-gateway", audience="folio-internal"
    )


@pytest.fixture(scope="session")
def internal_public_key(folio_infra: Infra) -> str:
    return load_or_create(folio_infra.secrets_dir).internal_public_pem


@pytest.fixture(scope="session")
async def fake_llm_url() -> AsyncIterator[str]:
    """A fake LLM server as its own process, for engine and provider tests."""
    from folio_devstack.fakellm import running_fake_llm

    async with running_fake_llm() as url:
        yield url
