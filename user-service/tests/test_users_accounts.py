"""Accounts: created just in time without a write per read, roles from claims or admins."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from folio_users.models import MESSAGING


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def outbox_count(app, event_type: str) -> int:
    async with app.state.database.sessions() as session:
        t = MESSAGING.outbox
        return await session.scalar(
            select(func.count()).select_from(t).where(t.c.message_type == event_type)
        )


async def test_me_creates_the_user_once_and_reads_write_nothing(service, as_user):
    app, client = service
    alice = uid("alice")
    first = await client.get("/api/v1/users/me", headers=as_user(alice, name="Alice"))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["clerk_user_id"] == alice and body["name"] == "Alice" and body["role"] == "user"
    assert body["created_at"].endswith("+00:00") and body["updated_at"] is None
    created = await outbox_count(app, "users.user.created.v1")
    updated = await outbox_count(app, "users.user.updated.v1")
    for _ in range(3):
        again = await client.get("/api/v1/users/me", headers=as_user(alice, name="Alice"))
        assert again.json()["id"] == body["id"]
    assert await outbox_count(app, "users.user.created.v1") == created
    assert await outbox_count(app, "users.user.updated.v1") == updated
    # A placeholder name never replaces a real one; a real new name does.
    same = await client.get("/api/v1/users/me", headers=as_user(alice, name="user_12345678"))
    assert same.json()["name"] == "Alice"
    renamed = await client.get("/api/v1/users/me", headers=as_user(alice, name="Alice B."))
    assert renamed.json()["name"] == "Alice B." and renamed.json()["updated_at"] is not None
    assert await outbox_count(app, "users.user.updated.v1") == updated + 1


async def test_a_role_claim_wins_and_without_one_the_stored_role_stands(service, as_user):
    _, client = service
    bob = uid("bob")
    assert (await client.get("/api/v1/users/me", headers=as_user(bob))).json()["role"] == "user"
    promoted = await client.get("/api/v1/users/me", headers=as_user(bob, role="admin"))
    assert promoted.json()["role"] == "admin"
    # No claim at all (a Clerk user without metadata): the stored role is kept.
    unclaimed = await client.get(
        "/api/v1/users/me", headers=as_user(bob, role="user", claimed_role=None)
    )
    assert unclaimed.json()["role"] == "admin"


async def test_role_changes_by_administrators(service, as_user):
    _, client = service
    boss, chief, carol = uid("boss"), uid("chief"), uid("carol")
    admin = as_user(boss, role="admin")
    root = as_user(chief, role="super_admin")
    await client.get("/api/v1/users/me", headers=admin)
    await client.get("/api/v1/users/me", headers=root)
    plain = as_user(carol, role="user", claimed_role=None)
    carol_id = (await client.get("/api/v1/users/me", headers=plain)).json()["id"]
    path = f"/api/v1/users/{carol_id}/role"

    refused = await client.put(path, headers=plain, json={"role": "moderator"})
    assert refused.status_code == 403
    made = await client.put(path, headers=admin, json={"role": "moderator"})
    assert made.status_code == 200 and made.json()["role"] == "moderator"
    # The change stands for her tokens that carry no role claim.
    me = await client.get("/api/v1/users/me", headers=plain)
    assert me.json()["role"] == "moderator"
    assert (await client.put(path, headers=admin, json={"role": "admin"})).status_code == 403
    assert (await client.put(path, headers=root, json={"role": "admin"})).status_code == 200
    bad = await client.put(path, headers=root, json={"role": "emperor"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    missing = await client.put("/api/v1/users/999999999/role", headers=root, json={"role": "user"})
    assert missing.status_code == 404
    assert (await client.put(path, json={"role": "user"})).status_code == 401
