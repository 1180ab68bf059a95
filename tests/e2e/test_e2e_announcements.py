"""Announcements through the gateway: the admin guard, one active at a time, the upstream's
list semantics, and the live stream pushed to clients of two user-service replicas."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal

import httpx
import pytest

from folio_devstack.secrets import load_or_create
from folio_devstack.stack import free_port

from .board import Caller, caller, unique
from .sse import open_stream

STREAM = "/api/v1/community/announcements/stream"


@pytest.fixture(scope="module")
def admin_secret(folio_infra) -> str:
    return load_or_create(folio_infra.secrets_dir).admin_secret


@pytest.fixture
async def second_replica(stack):
    """Another user-service process on the same database and broker."""
    port = free_port()
    process = stack.start_replica("user-service", port, {"FOLIO_ANNOUNCEMENT_HEARTBEAT_S": "0.5"})
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for _ in range(300):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/readyz")).status_code == 200:
                        break
                assert process.poll() is None, "the second replica exited"
                await asyncio.sleep(0.1)
            else:
                raise TimeoutError("the second replica did not become ready")
            yield client
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        await asyncio.to_thread(process.wait, 30)


def active_messages(data: str) -> list[str]:
    return [item["message"] for item in json.loads(data) if item["is_active"]]


async def test_the_guard_and_the_rules(gateway, dev_token, admin_secret):
    anonymous = Caller(gateway, None, "anonymous")
    user = caller(gateway, dev_token, "reader")
    admin = caller(gateway, dev_token, "boss", role="admin")
    path = "/community/announcements"
    for who, headers in (
        (anonymous, {}),
        (anonymous, {"x-admin-secret": "wrong"}),
        (user, {}),
        (user, {"x-admin-secret": admin_secret[:-1]}),
    ):
        refused = await who.post(path, json={"message": "no"}, headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"] == "Invalid or missing admin secret key"

    secret = {"x-admin-secret": admin_secret}
    first = await anonymous.post(path, json={"message": unique("first")}, headers=secret)
    assert first.status_code == 201, first.text
    assert first.json()["is_active"] is True and first.json()["created_at"].endswith("+00:00")
    second = await admin.post(path, json={"message": unique("second") + " <b>bold</b>"})
    assert second.status_code == 201, second.text
    assert second.json()["message_html"].endswith("<b>bold</b>")
    active = (await anonymous.get(path)).json()
    assert [a["id"] for a in active] == [second.json()["id"]]  # one active at a time
    # An inactive draft does not take the active one down.
    draft = await admin.post(path, json={"message": unique("draft"), "is_active": False})
    assert [a["id"] for a in (await anonymous.get(path)).json()] == [second.json()["id"]]
    latest = (await anonymous.get(path, params={"active_only": "false", "limit": 2})).json()
    assert [a["id"] for a in latest] == [draft.json()["id"], second.json()["id"]]
    assert (await anonymous.get(path, params={"limit": 0})).status_code == 422

    # Editing without is_active makes it active (the upstream's contract), and only it.
    edited = await admin.put(f"{path}/{first.json()['id']}", json={"message": "first, again"})
    assert edited.status_code == 200 and edited.json()["is_active"] is True
    assert [a["message"] for a in (await anonymous.get(path)).json()] == ["first, again"]
    assert (
        await user.put(f"{path}/{first.json()['id']}", json={"message": "x"})
    ).status_code == 403
    assert (await admin.put(f"{path}/999999", json={"message": "x"})).status_code == 404
    assert (await admin.post(path, json={"message": ""})).status_code == 422

    assert (await user.delete(f"{path}/{draft.json()['id']}")).status_code == 403
    assert (
        await anonymous.delete(f"{path}/{draft.json()['id']}", headers=secret)
    ).status_code == 204
    missing = await admin.delete(f"{path}/{draft.json()['id']}")
    assert (
        missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    )


async def test_every_client_of_both_replicas_sees_a_new_announcement_within_a_second(
    stack, gateway, second_replica, dev_token
):
    admin = caller(gateway, dev_token, "announcer", role="admin")
    async with (
        open_stream(gateway, STREAM) as through_gateway,
        open_stream(second_replica, STREAM) as on_replica_two,
    ):
        for stream in (through_gateway, on_replica_two):
            current = await stream.next_event(timeout_s=5)  # the state on connect
            assert current.id and "event" not in current.fields
            assert isinstance(json.loads(current.data), list)
        message = unique("live")
        created = await admin.post("/community/announcements", json={"message": message})
        assert created.status_code == 201
        for stream in (through_gateway, on_replica_two):
            event = await stream.next_event(timeout_s=1.0)
            assert active_messages(event.data) == [message]
            assert event.event is None and event.id
            item = json.loads(event.data)[0]
            assert set(item) >= {"id", "message", "is_active", "created_at"}
        # Heartbeats keep idle connections open (0.5 s on the second replica).
        assert "ping" in await asyncio.wait_for(on_replica_two.comments.get(), timeout=3)
        deleted = await admin.delete(f"/community/announcements/{created.json()['id']}")
        assert deleted.status_code == 204
        for stream in (through_gateway, on_replica_two):
            event = await stream.next_event(timeout_s=1.0)
            assert message not in event.data


async def test_a_client_that_resumes_is_sent_only_what_changed(gateway, second_replica, dev_token):
    admin = caller(gateway, dev_token, "resumer", role="admin")
    before = unique("before")
    await admin.post("/community/announcements", json={"message": before})
    async with open_stream(second_replica, STREAM) as stream:
        seen = await stream.next_event(timeout_s=5)
        while active_messages(seen.data) != [before]:  # the replica may hear of it just after
            seen = await stream.next_event(timeout_s=2)
    # Reconnecting with the id it saw: nothing to resend (only heartbeats) ...
    async with open_stream(second_replica, STREAM, {"Last-Event-ID": seen.id}) as resumed:
        assert "ping" in await asyncio.wait_for(resumed.comments.get(), timeout=3)
        assert resumed.events.empty()
        # ... until something changes.
        message = unique("after")
        await admin.post("/community/announcements", json={"message": message})
        event = await resumed.next_event(timeout_s=1.0)
        assert active_messages(event.data) == [message] and event.id != seen.id
    # An id that is no longer current gets the current state at once.
    async with open_stream(second_replica, STREAM, {"Last-Event-ID": seen.id}) as stale:
        assert active_messages((await stale.next_event(timeout_s=2)).data) == [message]
