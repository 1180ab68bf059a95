"""The GraphQL read API through the gateway, against the real services: it shows each
caller exactly what the REST routes show them (private posts, private comments at any
depth and other users' jobs never), costs a bounded number of service calls per page,
and refuses abusive queries.

Expectations are written out by hand from the privacy rules, and compared with what the
REST routes answer for the same caller.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from opentelemetry import context, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from .board import Caller, caller, new_category, new_comment, new_post, unique
from .conftest import submit, wait_for_job

COMMENT = "id parentId content isPrivate author { id name }"
COMMENT_TREE = f"{COMMENT} replies {{ {COMMENT} replies {{ {COMMENT} replies {{ id }} }} }}"
POST = f"id title isPrivate commentCount author {{ id name }} content comments {{ {COMMENT_TREE} }}"


async def graphql(who: Caller, query: str, headers: dict | None = None, **variables) -> dict:  # type: ignore[no-untyped-def]
    response = await who.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    return response.json()


def labels_of(tree: list[dict], ids: dict[int, str]) -> set[str]:
    found = set()
    for node in tree:
        found.add(ids[node["id"]])
        found |= labels_of(node.get("replies") or [], ids)
    return found


def as_rest(tree: list[dict]) -> list[dict]:
    """GraphQL comments in the REST shape (the fields the query asked for)."""
    return [
        {"id": c["id"]}
        if set(c) == {"id"}
        else {
            "id": c["id"],
            "parent_id": c["parentId"],
            "content": c["content"],
            "is_private": c["isPrivate"],
            "author": c["author"],
            "replies": as_rest(c["replies"]),
        }
        for c in tree
    ]


def rest_projection(tree: list[dict], depth: int = 2) -> list[dict]:
    """REST comments cut to what ``COMMENT_TREE`` asks for (ids only below ``depth``)."""
    return [
        {
            "id": c["id"],
            "parent_id": c["parent_id"],
            "content": c["content"],
            "is_private": c["is_private"],
            "author": c["author"],
            "replies": rest_projection(c["replies"], depth - 1)
            if depth > 0
            else [{"id": r["id"]} for r in c["replies"]],
        }
        for c in tree
    ]


@pytest.fixture
async def board(gateway, dev_token):
    people = {
        "anonymous": Caller(gateway, None, "anonymous"),
        "author": caller(gateway, dev_token, "gq-author"),
        "commenter": caller(gateway, dev_token, "gq-commenter"),
        "other": caller(gateway, dev_token, "gq-other"),
        "admin": caller(gateway, dev_token, "gq-admin", role="admin"),
    }
    for person in people.values():
        if person.token:
            await person.me()
    category = await new_category(people["admin"])
    public = await new_post(people["author"], category["id"], title="open", content="open body")
    private = await new_post(
        people["author"], category["id"], title="secret", content=f"secret {unique('body')}"
    )
    ids: dict[int, str] = {}

    async def add(label, who, parent=None, private_=False):  # type: ignore[no-untyped-def]
        fields = {"is_private": private_}
        if parent is not None:
            fields["parent_id"] = parent["id"]
        made = await new_comment(people[who], public["id"], label, **fields)
        ids[made["id"]] = label
        return made

    c_pub = await add("C_pub", "commenter")
    c_priv = await add("C_priv", "commenter", private_=True)
    r_pub = await add("R_pub", "commenter", c_pub)
    await add("R_priv", "commenter", c_pub, private_=True)
    await add("RR_pub", "commenter", r_pub)
    await add("RR_priv", "commenter", r_pub, private_=True)
    await add("R_under_priv", "commenter", c_priv)
    await add("O_priv", "other", private_=True)
    hidden = await people["author"].put(
        f"/community/posts/{private['id']}", json={"is_private": True}
    )
    assert hidden.status_code == 200, hidden.text
    return people, category, public, private, ids


PUBLIC_THREAD = {"C_pub", "R_pub", "RR_pub"}
ALL = PUBLIC_THREAD | {"C_priv", "R_priv", "RR_priv", "R_under_priv", "O_priv"}
EXPECTED = {
    "anonymous": PUBLIC_THREAD,
    "other": PUBLIC_THREAD | {"O_priv"},
    "commenter": ALL - {"O_priv"},
    "author": ALL,
    "admin": ALL,
}
SEES_PRIVATE_POST = {"author", "admin"}


@pytest.mark.parametrize("viewer", sorted(EXPECTED))
async def test_graphql_shows_each_viewer_what_rest_shows_and_nothing_private(board, viewer):
    people, category, public, private, ids = board
    me = people[viewer]
    query = f"""
      query Board($category: String!, $public: Long!, $private: Long!) {{
        posts(category: $category, limit: 10) {{ total items {{ {POST} }} }}
        open: post(id: $public) {{ {POST} }}
        secret: post(id: $private) {{ id title content comments {{ id }} }}
      }}
    """
    answer = await graphql(
        me, query, category=category["name"], public=public["id"], private=private["id"]
    )
    assert "errors" not in answer, answer
    data = answer["data"]
    sees_private = viewer in SEES_PRIVATE_POST
    listed = {p["id"] for p in data["posts"]["items"]}
    assert listed == ({public["id"], private["id"]} if sees_private else {public["id"]})
    assert data["posts"]["total"] == len(listed)
    if sees_private:
        assert data["secret"]["content"].startswith("secret ")
    else:
        assert data["secret"] is None
        assert "secret body" not in str(answer)

    # The comment tree, at every depth, is exactly what the rules allow ...
    page_item = next(p for p in data["posts"]["items"] if p["id"] == public["id"])
    for post in (data["open"], page_item):
        assert labels_of(post["comments"], ids) == EXPECTED[viewer], viewer
        assert post["commentCount"] == len(EXPECTED[viewer])
    # ... and the same as the REST routes give this caller.
    rest_comments = await me.get(f"/community/posts/{public['id']}/comments")
    assert rest_comments.status_code == 200
    assert as_rest(data["open"]["comments"]) == rest_projection(rest_comments.json())
    rest_post = (await me.get(f"/community/posts/{public['id']}")).json()
    assert data["open"]["content"] == rest_post["content"]
    assert data["open"]["author"] == rest_post["author"]
    rest_list = await me.get("/community/posts", params={"category": category["name"]})
    assert [p["id"] for p in data["posts"]["items"]] == [p["id"] for p in rest_list.json()]
    assert data["posts"]["total"] == int(rest_list.headers["x-total-count"])


async def test_another_users_job_is_never_returned(gateway, dev_token):
    owner = caller(gateway, dev_token, "gq-owner")
    intruder = caller(gateway, dev_token, "gq-intruder")
    anonymous = Caller(gateway, None, "anonymous")
    job = await submit(gateway, owner.token, "mine.txt", b"Gregor woke.\n\nThe room was quiet.")
    done = await wait_for_job(gateway, owner.token, job["id"])
    assert done["status"] == "COMPLETED", done
    query = """
      query Job($id: Long!) {
        job(id: $id) {
          id status progress filename targetLanguage totalSegments translatedSegments
          usage { calls inputTokens outputTokens thinkingTokens }
          segments(limit: 10) { total hasMore segments { segmentIndex sourceText translatedText } }
          tasks { id kind status celeryState segmentIndex progress message attempts }
        }
        jobs(limit: 50) { id filename }
      }
    """
    mine = await graphql(owner, query, id=job["id"])
    assert "errors" not in mine, mine
    rest_job = (await owner.get(f"/jobs/{job['id']}")).json()
    rest_segments = (await owner.get(f"/jobs/{job['id']}/segments", params={"limit": 10})).json()
    got = mine["data"]["job"]
    assert got["filename"] == rest_job["filename"] == "mine.txt"
    assert got["usage"] == {
        "calls": rest_job["usage"]["calls"],
        "inputTokens": rest_job["usage"]["input_tokens"],
        "outputTokens": rest_job["usage"]["output_tokens"],
        "thinkingTokens": rest_job["usage"]["thinking_tokens"],
    }
    assert got["usage"]["calls"] > 0
    assert got["segments"]["total"] == rest_segments["total"]
    assert [
        (s["segmentIndex"], s["sourceText"], s["translatedText"])
        for s in got["segments"]["segments"]
    ] == [
        (s["segment_index"], s["source_text"], s["translated_text"])
        for s in rest_segments["segments"]
    ]
    assert job["id"] in {j["id"] for j in mine["data"]["jobs"]}
    rest_tasks = (await owner.get(f"/tasks/job/{job['id']}/tasks")).json()
    assert rest_tasks, "a finished job has tasks"
    assert [
        (t["id"], t["kind"], t["status"], t["celeryState"], t["segmentIndex"], t["attempts"])
        for t in got["tasks"]
    ] == [
        (t["id"], t["kind"], t["status"], t["celery_state"], t["segment_index"], t["attempts"])
        for t in rest_tasks
    ]

    theirs = await graphql(intruder, query, id=job["id"])
    assert theirs["data"]["job"] is None
    assert theirs["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert theirs["errors"][0]["path"] == ["job"]
    assert job["id"] not in {j["id"] for j in theirs["data"]["jobs"]}
    assert "mine.txt" not in str(theirs)

    # Signed out: the status of a job (as the REST poll gives it), nothing of the book.
    polled = await graphql(anonymous, query, id=job["id"])
    assert polled["data"]["job"]["status"] == "COMPLETED"
    assert polled["data"]["job"]["filename"] is None
    assert polled["data"]["job"]["segments"] is None and polled["data"]["job"]["usage"] is None
    # Its tasks as the anonymous REST poll shows them: kind and state, no messages.
    polled_tasks = polled["data"]["job"]["tasks"]
    assert [(t["id"], t["status"]) for t in polled_tasks] == [
        (t["id"], t["status"]) for t in got["tasks"]
    ]
    assert all(t["message"] is None and t["attempts"] is None for t in polled_tasks)
    assert polled["data"]["jobs"] is None
    assert polled["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Gregor" not in str(polled)


async def test_a_page_of_posts_with_authors_costs_a_bounded_number_of_calls(
    gateway, dev_token, otlp_receiver
):
    admin = caller(gateway, dev_token, "gq-cost-admin", role="admin")
    writers = [caller(gateway, dev_token, f"gq-writer{i}") for i in range(4)]
    for person in (admin, *writers):
        await person.me()
    category = await new_category(admin)
    query = """
      query Page($category: String!) {
        posts(category: $category, limit: 20) {
          items { id author { id name } content comments { author { name } replies { id } } }
        }
      }
    """
    made = 0
    for count in (2, 12):
        while made < count:
            post = await new_post(writers[made % 4], category["id"], title=f"post {made}")
            await new_comment(writers[(made + 1) % 4], post["id"], "hello")
            made += 1
        trace_id = os.urandom(16).hex()
        traceparent = f"00-{trace_id}-{os.urandom(8).hex()}-01"
        # When this test process has httpx instrumented (other tests run services in
        # process), the client injects the current context over the header: make the
        # trace current too, so both carry the same id.
        parent = SpanContext(
            int(trace_id, 16),
            int.from_bytes(os.urandom(8), "big"),
            is_remote=True,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )
        attached = context.attach(trace.set_span_in_context(NonRecordingSpan(parent)))
        try:
            answer = await graphql(
                writers[0], query, headers={"traceparent": traceparent}, category=category["name"]
            )
        finally:
            context.detach(attached)
        assert "errors" not in answer, answer
        items = answer["data"]["posts"]["items"]
        assert len(items) == count
        assert all(item["author"]["name"] and item["comments"] for item in items)
        # The page, then every post's content and comments together: 2 calls, for 2 posts
        # as for 12 ...
        assert answer["extensions"]["upstreamCalls"] == 2
        # ... as community-service itself saw them (its own server spans in this trace).
        # Spans are exported in batches; a loaded machine can take a while to send them.
        for _ in range(900):
            served = [
                s
                for s in otlp_receiver.trace(trace_id)
                if s.service == "community-service" and s.kind == 2
            ]
            if len(served) >= 2:
                break
            await asyncio.sleep(0.1)
        assert sorted(s.name for s in served) == [
            "GET /api/v1/community/posts",
            "GET /api/v1/community/posts/batch",
        ]


async def test_deep_and_wide_queries_are_refused(gateway):
    anonymous = Caller(gateway, None, "anonymous")
    deep = (
        '{ posts(category: "free", limit: 1) { items { comments { '
        + "replies { " * 10
        + "id"
        + " }" * 10
        + " } } } }"
    )
    wide = "{ " + " ".join(f"c{i}: categories {{ id }}" for i in range(40)) + " }"
    for query, code_or_words in ((deep, "maximum operation depth"), (wide, "aliases found")):
        answer = await graphql(anonymous, query)
        assert answer.get("data") is None
        assert any(code_or_words in e["message"] for e in answer["errors"]), answer
        assert answer["extensions"]["upstreamCalls"] == 0


async def test_the_user_and_announcements_are_the_rest_ones(gateway, dev_token):
    me = caller(gateway, dev_token, "gq-me")
    rest_me = await me.me()
    answer = await graphql(
        me,
        """{ me { id clerkUserId name role tokenUsage { total { totalTokens } perModel { model } } }
             announcements(limit: 5) { id message isActive }
             categories { id name } }""",
    )
    assert "errors" not in answer, answer
    data = answer["data"]
    assert data["me"]["id"] == rest_me["id"]
    assert data["me"]["clerkUserId"] == rest_me["clerk_user_id"]
    usage = (await me.get("/users/me/token-usage")).json()
    assert data["me"]["tokenUsage"]["total"]["totalTokens"] == usage["total"]["total_tokens"]
    announcements = (await me.get("/community/announcements", params={"limit": 5})).json()
    assert [a["id"] for a in data["announcements"]] == [a["id"] for a in announcements]
    categories = (await me.get("/community/categories")).json()
    assert data["categories"] == [{"id": c["id"], "name": c["name"]} for c in categories]
