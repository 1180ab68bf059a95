"""The outbox at work: with RabbitMQ unreachable, uploads still succeed; once the broker
is back, the job is processed, and every result is applied exactly once."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from folio_devstack.faults import TcpProxy
from folio_devstack.pytest_plugin import stack_config
from folio_devstack.stack import Stack
from folio_fakellm.pseudo import pseudo_translate

from .conftest import book, submit, wait_for_job


@pytest.fixture
async def proxied_stack(folio_infra, database_factory, amqp_vhost, tmp_path):
    proxy = TcpProxy("127.0.0.1", 5672)
    port = await proxy.start()
    amqp_url = amqp_vhost("outage").replace("127.0.0.1:5672", f"127.0.0.1:{port}")
    database = await database_factory()
    stack = Stack(stack_config(tmp_path, database, amqp_url, folio_infra))
    try:
        await stack.start()
        yield stack, proxy
    finally:
        # In a thread: the proxy lives on this event loop and must keep forwarding while
        # the services close their broker connections.
        await asyncio.to_thread(stack.stop)
        await proxy.close()


async def test_upload_succeeds_while_the_broker_is_down_and_completes_after(
    proxied_stack, dev_token
):
    stack, proxy = proxied_stack
    token = dev_token("outage-reader")
    text = book(paragraphs=8, words=70, seed="-outage")
    async with httpx.AsyncClient(base_url=stack.config.url("gateway"), timeout=30) as gateway:
        await proxy.cut()
        async with httpx.AsyncClient(base_url=stack.config.url("translation-service")) as direct:
            for _ in range(50):  # the service notices the lost connection
                if (await direct.get("/readyz")).status_code == 503:
                    break
                await asyncio.sleep(0.2)
            not_ready = await direct.get("/readyz")
            assert not_ready.status_code == 503
            assert not_ready.json()["checks"]["broker"] != "ok"

        job = await submit(gateway, token, "outage.txt", text.encode(), segment_size=1000)
        await asyncio.sleep(3)
        still = (
            await gateway.get(
                f"/api/v1/jobs/{job['id']}", headers={"Authorization": f"Bearer {token}"}
            )
        ).json()
        assert still["status"] == "PENDING"  # stored, waiting in the outbox

        await proxy.restore()
        done = await wait_for_job(gateway, token, job["id"], timeout_s=90)
        assert done["status"] == "COMPLETED", done
        assert done["translated_segments"] == done["total_segments"]
        # Each result was applied once, and every model call the fake served is counted
        # exactly once in the job's usage (a redelivered command would be served from the
        # response cache, and its duplicate result dropped by the inbox).
        async with httpx.AsyncClient(base_url=stack.config.url("fake-llm")) as fake:
            served = (await fake.get("/_fake/stats")).json()["requests"]
        assert done["usage"]["calls"] == served
        download = await gateway.get(
            f"/api/v1/download/{job['id']}", headers={"Authorization": f"Bearer {token}"}
        )
        expected = "\n\n".join(pseudo_translate(p, "Korean") for p in text.split("\n\n")) + "\n"
        assert download.text == expected
