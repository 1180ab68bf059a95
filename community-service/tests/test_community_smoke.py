"""The board in process: the main paths, quickly (the full matrix runs through the gateway)."""

from __future__ import annotations

import uuid


async def test_a_post_with_comments_round_trip(service, as_user):
    _, client = service
    alice, bob = f"alice-{uuid.uuid4().hex[:6]}", f"bob-{uuid.uuid4().hex[:6]}"
    cats = (await client.get("/api/v1/community/categories")).json()
    free = next(c for c in cats if c["name"] == "free")
    made = await client.post(
        "/api/v1/community/posts",
        headers=as_user(alice),
        json={
            "title": "Hello",
            "content": "<b>hi</b><script>x()</script>",
            "category_id": free["id"],
        },
    )
    assert made.status_code == 201, made.text
    post = made.json()
    assert post["content"] == "<b>hi</b><script>x()</script>"
    assert post["content_html"] == "<b>hi</b>"
    c1 = await client.post(
        f"/api/v1/community/posts/{post['id']}/comments",
        headers=as_user(bob),
        json={"content": "secret", "post_id": 0, "is_private": True},
    )
    assert c1.status_code == 201, c1.text
    reply = await client.post(
        f"/api/v1/community/posts/{post['id']}/comments",
        headers=as_user(bob),
        json={"content": "public reply to secret", "post_id": 0, "parent_id": c1.json()["id"]},
    )
    assert reply.status_code == 201, reply.text
    anon = (await client.get(f"/api/v1/community/posts/{post['id']}")).json()
    assert anon["comments"] == [] and anon["comment_count"] == 0
    mine = (
        await client.get(f"/api/v1/community/posts/{post['id']}", headers=as_user(alice))
    ).json()
    assert (
        mine["comment_count"] == 2
        and mine["comments"][0]["replies"][0]["content"] == "public reply to secret"
    )
    listing = await client.get("/api/v1/community/posts", params={"category": "free"})
    assert listing.status_code == 200 and int(listing.headers["x-total-count"]) >= 1
    overview = await client.get("/api/v1/community/categories/overview")
    assert overview.status_code == 200, overview.text
    bad = await client.post(
        f"/api/v1/community/posts/{post['id']}/comments",
        headers=as_user(bob),
        json={"content": "x", "post_id": 0, "parent_id": 999999},
    )
    assert bad.status_code == 422
