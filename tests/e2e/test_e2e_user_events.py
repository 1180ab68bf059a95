"""An event path between two services: user-service provisions a user just in time and
publishes users.user.created.v1; community-service keeps its author read model from it."""

from __future__ import annotations

import asyncpg

from folio_devstack.pytest_plugin import wait_until


async def test_a_new_user_reaches_the_community_read_model(
    gateway, dev_token, stack, test_database
):
    response = await gateway.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {dev_token('event-user')}"}
    )
    assert response.status_code == 200
    url = test_database.url("community").replace("postgresql+asyncpg://", "postgresql://")

    async def author_row():
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchrow(
                "SELECT name, role FROM authors WHERE user_id = 'event-user'"
            )
        finally:
            await conn.close()

    row = await wait_until(author_row, timeout_s=30)
    assert row["name"] == "event-user" and row["role"] == "user"

    # A changed role arrives as users.user.updated.v1.
    await gateway.get(
        "/api/v1/users/me",
        headers={"Authorization": f"Bearer {dev_token('event-user', admin=True)}"},
    )

    async def promoted():
        row = await author_row()
        return row is not None and row["role"] == "admin"

    assert await wait_until(promoted, timeout_s=30)
