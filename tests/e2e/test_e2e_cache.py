"""The shared read cache through the gateway: a cached read never shows a private post to
someone not allowed to see it, and every change shows within a second."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from .board import Caller, caller, new_category, new_post


async def within_a_second(check) -> None:  # type: ignore[no-untyped-def]
    """``check()`` must hold within one second of the change (polled)."""
    deadline = asyncio.get_running_loop().time() + 1.0
    while True:
        if await check():
            return
        assert asyncio.get_running_loop().time() < deadline, "not within a second"
        await asyncio.sleep(0.02)


async def titles(who: Caller, category: str) -> list[str]:
    response = await who.get("/community/posts", params={"category": category})
    assert response.status_code == 200
    return [p["title"] for p in response.json()]


async def overview_count(who: Caller, category_id: int) -> int:
    body = (await who.get("/community/categories/overview")).json()
    return next(c["total_posts"] for c in body if c["id"] == category_id)


async def test_cached_reads_respect_privacy_and_follow_changes(stack, gateway, dev_token):
    anonymous = Caller(gateway, None, "anonymous")
    author = caller(gateway, dev_token, "author")
    other = caller(gateway, dev_token, "other")
    admin = caller(gateway, dev_token, "admin", role="admin")
    category = await new_category(admin)
    name, cid = category["name"], category["id"]
    viewers = (anonymous, author, other, admin)
    for who in viewers:  # warm every scope's cache with the empty board
        assert await titles(who, name) == [] and await overview_count(who, cid) == 0

    redis = aioredis.Redis.from_url(stack.config.redis_url)
    try:
        keys = [k async for k in redis.scan_iter(f"{stack.config.redis_prefix}:community:*")]
        assert keys, "the reads went through the shared cache"
        generation_key = f"{stack.config.redis_prefix}:community:board:generation"
        before = int(await redis.get(generation_key) or 0)

        post = await new_post(author, cid, title="secret diary", is_private=True)

        async def author_and_admin_see_it() -> bool:
            return await titles(author, name) == ["secret diary"] and await titles(admin, name) == [
                "secret diary"
            ]

        await within_a_second(author_and_admin_see_it)
        for _ in range(3):  # repeated, cached reads
            assert await titles(anonymous, name) == []
            assert await titles(other, name) == []
            assert await overview_count(anonymous, cid) == 0
            assert await overview_count(other, cid) == 0
        assert await overview_count(author, cid) == 1

        made_public = await author.put(f"/community/posts/{post['id']}", json={"is_private": False})
        assert made_public.status_code == 200

        async def everyone_sees_it() -> bool:
            for who in viewers:
                if await titles(who, name) != ["secret diary"]:
                    return False
            return await overview_count(anonymous, cid) == 1

        await within_a_second(everyone_sees_it)

        private_again = await author.put(
            f"/community/posts/{post['id']}", json={"is_private": True, "title": "hidden again"}
        )
        assert private_again.status_code == 200

        async def hidden_again() -> bool:
            return (
                await titles(anonymous, name) == []
                and await titles(other, name) == []
                and await overview_count(anonymous, cid) == 0
            )

        await within_a_second(hidden_again)
        assert await titles(admin, name) == ["hidden again"]
        assert int(await redis.get(generation_key)) > before
    finally:
        await redis.aclose()
