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


async def test_a_batch_of_posts_leaves_out_what_the_viewer_may_not_see(service, as_user):
    _, client = service
    alice, bob = f"alice-{uuid.uuid4().hex[:6]}", f"bob-{uuid.uuid4().hex[:6]}"
    cats = (await client.get("/api/v1/community/categories")).json()
    free = next(c for c in cats if c["name"] == "free")
    made = {}
    for title, private in (("open", False), ("secret", True)):
        response = await client.post(
            "/api/v1/community/posts",
            headers=as_user(alice),
            json={
                "title": title,
                "content": title,
                "category_id": free["id"],
                "is_private": private,
            },
        )
        assert response.status_code == 201, response.text
        made[title] = response.json()["id"]
    hidden = await client.post(
        f"/api/v1/community/posts/{made['open']}/comments",
        headers=as_user(alice),
        json={"content": "alice only", "post_id": 0, "is_private": True},
    )
    assert hidden.status_code == 201, hidden.text
    ids = [made["secret"], made["open"], 999_999_999, made["open"]]

    async def batch(headers: dict[str, str]) -> list[dict]:
        response = await client.get(
            "/api/v1/community/posts/batch", params={"ids": ids}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    seen_by_bob = await batch(as_user(bob))
    assert [p["id"] for p in seen_by_bob] == [made["open"]]
    assert seen_by_bob[0]["comments"] == [] and seen_by_bob[0]["comment_count"] == 0
    assert [p["id"] for p in await batch({})] == [made["open"]]
    seen_by_alice = await batch(as_user(alice))
    assert [p["id"] for p in seen_by_alice] == [made["secret"], made["open"]]
    assert [c["content"] for c in seen_by_alice[1]["comments"]] == ["alice only"]
    single = await client.get(f"/api/v1/community/posts/{made['open']}", headers=as_user(alice))
    assert seen_by_alice[1] == single.json()  # the same view as a post's own page
    too_many = await client.get(
        "/api/v1/community/posts/batch", params={"ids": list(range(1, 102))}
    )
    assert too_many.status_code == 422
    assert (await client.get("/api/v1/community/posts/batch")).status_code == 422
