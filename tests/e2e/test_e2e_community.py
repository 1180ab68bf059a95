"""Every community operation through the gateway: its success path and its 4xx paths."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from folio_devstack.pytest_plugin import wait_until

from .board import Caller, caller, new_category, new_comment, new_post, unique


@pytest.fixture
async def people(gateway, dev_token):
    out = {
        "anonymous": Caller(gateway, None, "anonymous"),
        "alice": caller(gateway, dev_token, "alice"),
        "bob": caller(gateway, dev_token, "bob"),
        "mod": caller(gateway, dev_token, "mod", role="moderator"),
        "admin": caller(gateway, dev_token, "admin", role="admin"),
    }
    for person in out.values():
        if person.token:
            await person.me()
    return out


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


async def test_categories(people):
    anonymous, alice, admin = people["anonymous"], people["alice"], people["admin"]
    listed = (await anonymous.get("/community/categories")).json()
    names = ["announcement", "suggestion", "qna", "free"]
    seeded = [c for c in listed if c["name"] in names]  # other tests add boards (order 0)
    assert [c["name"] for c in seeded] == names and [c["order"] for c in seeded] == [1, 2, 3, 4]
    assert seeded[0]["is_admin_only"] is True and seeded[0]["created_at"].endswith("+00:00")
    one = await anonymous.get(f"/community/categories/{seeded[3]['id']}")
    assert one.json()["name"] == "free"
    problem(await anonymous.get("/community/categories/999999"), 404)
    problem(await anonymous.get("/community/categories/abc"), 422)

    body = {"name": unique("books"), "display_name": "Books", "description": "About books"}
    problem(await anonymous.post("/community/categories", json=body), 401)
    assert problem(await alice.post("/community/categories", json=body), 403)["detail"] == (
        "Only admins can create categories"
    )
    created = await admin.post("/community/categories", json=body)
    assert created.status_code == 201, created.text
    category = created.json()
    problem(await admin.post("/community/categories", json=body), 409)
    problem(await admin.post("/community/categories", json={**body, "name": "Not A Slug!"}), 422)

    replaced = await admin.put(
        f"/community/categories/{category['id']}",
        json={**body, "display_name": "Books & more", "order": 7},
    )
    assert replaced.status_code == 200 and replaced.json()["display_name"] == "Books & more"
    assert replaced.json()["description"] == "About books"
    problem(await alice.put(f"/community/categories/{category['id']}", json=body), 403)
    problem(await admin.put("/community/categories/999999", json=body), 404)

    post = await new_post(alice, category["id"])
    problem(await admin.delete(f"/community/categories/{category['id']}"), 409)
    assert (await alice.delete(f"/community/posts/{post['id']}")).status_code == 204
    problem(await alice.delete(f"/community/categories/{category['id']}"), 403)
    assert (await admin.delete(f"/community/categories/{category['id']}")).status_code == 204
    problem(await admin.delete(f"/community/categories/{category['id']}"), 404)


async def test_posts(people):
    anonymous, alice, bob, admin = (people[k] for k in ("anonymous", "alice", "bob", "admin"))
    category = await new_category(admin)
    announcements = await new_category(admin, is_admin_only=True)
    problem(
        await anonymous.post(
            "/community/posts", json={"title": "t", "content": "c", "category_id": category["id"]}
        ),
        401,
    )
    problem(
        await alice.post(
            "/community/posts", json={"title": "t", "content": "c", "category_id": 999999}
        ),
        404,
    )
    assert (
        problem(
            await alice.post(
                "/community/posts",
                json={"title": "t", "content": "c", "category_id": announcements["id"]},
            ),
            403,
        )["detail"]
        == f"Category '{announcements['name']}' is admin-only"
    )
    await new_post(admin, announcements["id"])
    problem(
        await alice.post(
            "/community/posts", json={"title": " ", "content": "c", "category_id": category["id"]}
        ),
        422,
    )
    problem(
        await alice.post("/community/posts", json={"title": "t", "category_id": category["id"]}),
        422,
    )
    assert (
        problem(
            await alice.post(
                "/community/posts",
                json={
                    "title": "t",
                    "content": "c",
                    "category_id": category["id"],
                    "is_pinned": True,
                },
            ),
            403,
        )["detail"]
        == "Only admins can pin posts"
    )

    me = await alice.me()
    first = await new_post(alice, category["id"], title="first", content="a < b & <i>c</i>")

    async def author_known():  # user-service's id reaches the board through its event
        shown = (await anonymous.get(f"/community/posts/{first['id']}")).json()["author"]
        return shown == {"id": me["id"], "name": "Alice"}

    assert await wait_until(author_known, timeout_s=10)
    assert (
        first["content"] == "a < b & <i>c</i>"
        and first["content_html"] == "a &lt; b &amp; <i>c</i>"
    )
    assert first["updated_at"] is None and first["created_at"].endswith("+00:00")
    second = await new_post(bob, category["id"], title="second")
    pinned = await new_post(admin, category["id"], title="pinned", is_pinned=True)

    listing = await anonymous.get("/community/posts", params={"category": category["name"]})
    assert [p["title"] for p in listing.json()] == ["pinned", "second", "first"]
    assert listing.headers["x-total-count"] == "3"
    assert listing.json()[0]["category"]["id"] == category["id"]
    page = await anonymous.get(
        "/community/posts", params={"category": category["name"], "skip": 1, "limit": 1}
    )
    assert [p["title"] for p in page.json()] == ["second"] and page.headers["x-total-count"] == "3"
    like = await anonymous.get(
        "/community/posts", params={"category": category["name"], "search": "%"}
    )
    assert (
        like.json() == [] and like.headers["x-total-count"] == "0"
    )  # % is a character, not a wildcard
    problem(await anonymous.get("/community/posts", params={"category": "no-such-board"}), 404)
    problem(await anonymous.get("/community/posts"), 422)
    problem(
        await anonymous.get(
            "/community/posts", params={"category": category["name"], "limit": 101}
        ),
        422,
    )

    path = f"/community/posts/{first['id']}"
    assert problem(await bob.put(path, json={"title": "mine now"}), 403)
    assert (
        problem(await alice.put(path, json={"is_pinned": True}), 403)["detail"]
        == "Only admins can pin posts"
    )
    edited = await alice.put(path, json={"title": "first, edited", "is_private": True})
    assert edited.status_code == 200 and edited.json()["title"] == "first, edited"
    assert edited.json()["updated_at"] is not None
    problem(await anonymous.get(path), 403)
    problem(await bob.get(path), 403)
    assert (await admin.put(path, json={"is_private": False, "is_pinned": True})).json()[
        "is_pinned"
    ]
    unpinned = await admin.put(f"/community/posts/{pinned['id']}", json={"is_pinned": False})
    assert unpinned.json()["is_pinned"] is False

    views = [(await anonymous.post(f"{path}/view")).json()["view_count"] for _ in range(3)]
    assert views == [1, 2, 3]
    assert (await anonymous.get(path)).json()["view_count"] == 3  # reading does not count
    problem(await anonymous.post("/community/posts/999999/view"), 404)
    problem(await anonymous.get("/community/posts/999999"), 404)
    problem(await alice.put("/community/posts/999999", json={"title": "x"}), 404)

    problem(await bob.delete(path), 403)
    problem(await anonymous.delete(path), 401)
    assert (await admin.delete(f"/community/posts/{second['id']}")).status_code == 204
    assert (await alice.delete(path)).status_code == 204
    problem(await alice.delete(path), 404)


async def test_comments(people):
    anonymous, alice, bob, admin = (people[k] for k in ("anonymous", "alice", "bob", "admin"))
    category = await new_category(admin)
    post = await new_post(alice, category["id"])
    other_post = await new_post(alice, category["id"])
    base = f"/community/posts/{post['id']}/comments"
    problem(await anonymous.post(base, json={"content": "hi", "post_id": post["id"]}), 401)
    problem(await bob.post(base, json={"content": "no post_id"}), 422)
    problem(await bob.post(base, json={"content": "", "post_id": post["id"]}), 422)
    problem(
        await bob.post("/community/posts/999999/comments", json={"content": "x", "post_id": 1}), 404
    )
    top = await new_comment(bob, post["id"], "top")
    assert top["post_id"] == post["id"] and top["parent_id"] is None
    reply = await new_comment(alice, post["id"], "reply", parent_id=top["id"])
    deeper = await new_comment(bob, post["id"], "deeper", parent_id=reply["id"])
    foreign = await new_comment(bob, other_post["id"], "elsewhere")
    problem(
        await bob.post(
            base, json={"content": "x", "post_id": post["id"], "parent_id": foreign["id"]}
        ),
        422,
    )
    problem(
        await bob.post(base, json={"content": "x", "post_id": post["id"], "parent_id": 10**12}), 422
    )

    tree = (await anonymous.get(base)).json()
    assert [c["content"] for c in tree] == ["top"]
    assert tree[0]["replies"][0]["replies"][0]["id"] == deeper["id"]
    problem(await anonymous.get("/community/posts/999999/comments"), 404)

    edit = f"/community/comments/{top['id']}"
    problem(await alice.put(edit, json={"content": "not yours"}), 403)
    edited = await bob.put(edit, json={"content": "top, edited", "is_private": True})
    assert edited.status_code == 200 and edited.json()["is_private"] is True
    assert (await admin.put(edit, json={"is_private": False})).json()["content"] == "top, edited"
    problem(await bob.put("/community/comments/999999", json={"content": "x"}), 404)
    problem(await bob.put(edit, json={"content": " "}), 422)

    # The post's author may delete someone else's comment; its replies go with it.
    problem(await anonymous.delete(edit), 401)
    problem(await bob.delete(f"/community/comments/{reply['id']}"), 403)
    assert (await alice.delete(edit)).status_code == 204
    assert (await anonymous.get(base)).json() == []
    problem(await alice.delete(edit), 404)
    assert (await bob.delete(f"/community/comments/{foreign['id']}")).status_code == 204


async def test_admin_post_deletion(people):
    alice, bob, mod, admin = (people[k] for k in ("alice", "bob", "mod", "admin"))
    category = await new_category(admin)
    posts = [await new_post(alice, category["id"]) for _ in range(2)]
    assert problem(await bob.delete(f"/admin/posts/{posts[0]['id']}"), 403)["detail"] == (
        "User lacks post:delete:any permission"
    )
    problem(
        await alice.delete(f"/admin/posts/{posts[0]['id']}"), 403
    )  # authors use the board route
    assert (await mod.delete(f"/admin/posts/{posts[0]['id']}")).status_code == 204
    problem(await mod.delete(f"/admin/posts/{posts[0]['id']}"), 404)
    assert (await admin.delete(f"/admin/posts/{posts[1]['id']}")).status_code == 204
    problem(await admin.delete("/admin/posts/999999"), 404)


def image_bytes(fmt: str, *, exif: bool = False, size=(40, 30)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        data[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS latitude
        image.save(out, format=fmt, exif=data)
    else:
        image.save(out, format=fmt)
    return out.getvalue()


async def test_images(people, gateway):
    anonymous, alice, admin = people["anonymous"], people["alice"], people["admin"]
    photo = image_bytes("JPEG", exif=True)
    assert b"SecretCam" in photo
    problem(
        await anonymous.post("/community/images", files={"file": ("a.jpg", photo, "image/jpeg")}),
        401,
    )
    uploaded = await alice.post(
        "/community/images", files={"file": ("../../etc/passwd.jpg", photo, "image/jpeg")}
    )
    assert uploaded.status_code == 201, uploaded.text
    info = uploaded.json()
    assert info["url"].startswith("/api/v1/community/images/") and info["url"].endswith(".jpg")
    assert "passwd" not in info["url"] and info["filename"] in info["url"]
    served = await gateway.get(info["url"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert b"SecretCam" not in served.content and len(served.content) == info["size"]
    assert Image.open(io.BytesIO(served.content)).getexif() == {}
    assert Image.open(io.BytesIO(served.content)).size == (40, 30)
    for fmt, kind in (("PNG", "png"), ("GIF", "gif"), ("WEBP", "webp")):
        ok = await alice.post(
            "/community/images", files={"file": (f"x.{kind}", image_bytes(fmt), f"image/{kind}")}
        )
        assert ok.status_code == 201 and ok.json()["url"].endswith(f".{kind}"), ok.text

    problem(
        await alice.post(
            "/community/images",
            files={"file": ("x.png", b"<html>not an image</html>", "image/png")},
        ),
        400,
    )
    assert (
        "match"
        in problem(
            await alice.post("/community/images", files={"file": ("x.png", photo, "image/png")}),
            400,
        )["detail"]
    )
    problem(
        await alice.post(
            "/community/images", files={"file": ("x.jpg", photo[: len(photo) // 2], "image/jpeg")}
        ),
        400,
    )
    big = b"\xff\xd8\xff" + b"\0" * (10 * 1024 * 1024)
    problem(
        await alice.post("/community/images", files={"file": ("big.jpg", big, "image/jpeg")}), 413
    )
    problem(await alice.post("/community/images", data={"nofile": "1"}), 422)
    problem(await gateway.get("/api/v1/community/images/" + "0" * 32 + ".png"), 404)
    problem(await gateway.get("/api/v1/community/images/etc-passwd"), 422)

    category = await new_category(admin)
    post = await new_post(alice, category["id"], images=[info["url"]])
    assert post["images"] == [info["url"]]
    for url in (
        "https://tracker.example/pixel.png",
        "/api/v1/community/images/" + "f" * 32 + ".png",
    ):
        problem(
            await alice.post(
                "/community/posts",
                json={"title": "t", "content": "c", "category_id": category["id"], "images": [url]},
            ),
            422,
        )
