"""The privacy matrix: every post and comment visibility case, for every kind of viewer,
in every read that shows them (detail, comment tree, lists, counts, search, overview).

The expectations are written out by hand from the rules in the issue, not computed by
the service's own policy code.
"""

from __future__ import annotations

import pytest

from .board import Caller, caller, flatten, new_category, new_comment, new_post, unique

VIEWERS = ("anonymous", "post_author", "comment_author", "another_user", "moderator", "admin")

# Public post: which comments each viewer sees. Labels: C = top level, R = reply,
# RR = reply of a reply; _pub/_priv their own privacy; *_under_priv hang under a
# private comment; O_priv is another user's own private comment.
ALL = {
    "C_pub", "C_priv", "R_pub", "R_priv", "RR_pub", "RR_priv",
    "R_under_priv", "RR_under_priv", "O_priv",
}  # fmt: skip
PUBLIC_THREAD = {"C_pub", "R_pub", "RR_pub"}
EXPECTED = {
    "anonymous": PUBLIC_THREAD,
    "post_author": ALL,
    "comment_author": ALL - {"O_priv"},
    "another_user": PUBLIC_THREAD | {"O_priv"},
    "moderator": PUBLIC_THREAD,
    "admin": ALL,
}
# The private post (made private after the comments were written).
SEES_PRIVATE_POST = {"post_author", "admin"}


@pytest.fixture
async def board(gateway, dev_token):
    people = {
        "anonymous": None,
        "post_author": caller(gateway, dev_token, "author"),
        "comment_author": caller(gateway, dev_token, "commenter"),
        "another_user": caller(gateway, dev_token, "other"),
        "moderator": caller(gateway, dev_token, "mod", role="moderator"),
        "admin": caller(gateway, dev_token, "admin", role="admin"),
    }
    people["anonymous"] = Caller(gateway, None, "anonymous")
    for person in people.values():
        if person.token:
            await person.me()  # user-service knows them (their ids reach the board)
    author, commenter, other = (
        people[k] for k in ("post_author", "comment_author", "another_user")
    )
    token = unique("needle")
    category = await new_category(people["admin"])
    posts = {}
    labels: dict[str, dict[int, str]] = {}
    for kind in ("public", "private"):
        post = await new_post(
            author, category["id"], title=f"{kind} {token}", content=f"body {kind} {token}"
        )
        ids: dict[int, str] = {}

        async def add(label, who, parent=None, private=False, post=post, ids=ids, kind=kind):  # type: ignore[no-untyped-def]
            fields = {"is_private": private}
            if parent is not None:
                fields["parent_id"] = parent["id"]
            made = await new_comment(who, post["id"], f"{label} {kind}", **fields)
            ids[made["id"]] = label
            return made

        c_pub = await add("C_pub", commenter)
        c_priv = await add("C_priv", commenter, private=True)
        r_pub = await add("R_pub", commenter, c_pub)
        r_priv = await add("R_priv", commenter, c_pub, private=True)
        await add("RR_pub", commenter, r_pub)
        await add("RR_priv", commenter, r_pub, private=True)
        await add("R_under_priv", commenter, c_priv)
        await add("RR_under_priv", commenter, r_priv)
        await add("O_priv", other, private=True)
        if kind == "private":
            made_private = await author.put(
                f"/community/posts/{post['id']}", json={"is_private": True}
            )
            assert made_private.status_code == 200, made_private.text
        posts[kind] = post
        labels[kind] = ids
    return people, category, posts, labels, token


def seen(tree: list[dict], ids: dict[int, str]) -> set[str]:
    return {ids[c["id"]] for c in flatten(tree)}


def assert_nesting(tree: list[dict], parent: int | None = None) -> None:
    for node in tree:
        assert node["parent_id"] == parent, node
        assert_nesting(node["replies"], node["id"])


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_each_viewer_sees_exactly_what_the_rules_allow(board, viewer):
    people, category, posts, labels, token = board
    me = people[viewer]
    expected_public = EXPECTED[viewer]
    sees_private = viewer in SEES_PRIVATE_POST

    # GET /posts/{id} and GET /posts/{id}/comments, both posts.
    for kind, post in posts.items():
        ids = labels[kind]
        expected = (ALL if sees_private else None) if kind == "private" else expected_public
        detail = await me.get(f"/community/posts/{post['id']}")
        comments = await me.get(f"/community/posts/{post['id']}/comments")
        if expected is None:
            assert detail.status_code == 403, (viewer, kind, detail.text)
            assert comments.status_code == 403, (viewer, kind, comments.text)
            assert "body private" not in detail.text + comments.text
            continue
        assert detail.status_code == 200, detail.text
        body = detail.json()
        assert seen(body["comments"], ids) == expected, (viewer, kind)
        assert body["comment_count"] == len(expected)
        assert comments.status_code == 200
        assert seen(comments.json(), ids) == expected, (viewer, kind)
        assert_nesting(comments.json())

    # The list, with its count, and search (title and content).
    visible_posts = {posts["public"]["id"]} | ({posts["private"]["id"]} if sees_private else set())
    for search in (None, token, f"body private {token}"):
        params = {"category": category["name"]}
        if search:
            params["search"] = search
        listing = await me.get("/community/posts", params=params)
        assert listing.status_code == 200, listing.text
        expected_ids = visible_posts
        if search and search.startswith("body private"):
            expected_ids = visible_posts & {posts["private"]["id"]}
        assert {p["id"] for p in listing.json()} == expected_ids, (viewer, search)
        assert int(listing.headers["x-total-count"]) == len(expected_ids)
        for item in listing.json():
            kind = "public" if item["id"] == posts["public"]["id"] else "private"
            assert item["comment_count"] == len(ALL if kind == "private" else expected_public)

    # The overview: counts and recent posts of the category.
    overview = await me.get("/community/categories/overview")
    assert overview.status_code == 200
    mine = next(c for c in overview.json() if c["id"] == category["id"])
    assert mine["total_posts"] == len(visible_posts)
    assert {p["id"] for p in mine["recent_posts"]} == visible_posts
    for item in mine["recent_posts"]:
        kind = "public" if item["id"] == posts["public"]["id"] else "private"
        assert item["comment_count"] == len(ALL if kind == "private" else expected_public)
    assert mine["can_post"] is (viewer != "anonymous")


async def test_privacy_holds_when_writing_too(board):
    people, _, posts, labels, _ = board
    other, author = people["another_user"], people["post_author"]
    private_post = posts["private"]["id"]
    # Commenting on or viewing a post one cannot see is refused.
    refused = await other.post(
        f"/community/posts/{private_post}/comments",
        json={"content": "let me in", "post_id": private_post},
    )
    assert refused.status_code == 403
    assert (await other.post(f"/community/posts/{private_post}/view")).status_code == 403
    # A reply to a hidden comment is refused exactly like a reply to a missing one.
    hidden = next(i for i, label in labels["public"].items() if label == "C_priv")
    public_post = posts["public"]["id"]
    for parent in (hidden, 10**12):
        answer = await other.post(
            f"/community/posts/{public_post}/comments",
            json={"content": "reply", "post_id": public_post, "parent_id": parent},
        )
        assert answer.status_code == 422, answer.text
    # A comment of another post is not a parent here either.
    foreign = next(iter(labels["private"]))
    answer = await author.post(
        f"/community/posts/{public_post}/comments",
        json={"content": "reply", "post_id": public_post, "parent_id": foreign},
    )
    assert answer.status_code == 422
    assert "parent_id" in answer.json()["detail"]
