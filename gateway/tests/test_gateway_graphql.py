"""The GraphQL read API in the gateway process, in front of a board and a user service
served over real HTTP by the test (which counts every call and records who made it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from folio.identity import IDENTITY_HEADER, InternalTokenVerifier
from folio_devstack.stack import free_port

from .conftest import Backends, GatewayProcess, Keys, bearer

PAGE = """
query Page VARIABLES {
  posts(category: "free", limit: LIMIT) {
    total
    items {
      id title author { id name } content
      comments { id content author { name } replies { id content } }
    }
  }
}
"""


def page_query(limit: int | None) -> str:
    """A page of posts with authors, content and comments (``None``: a variable limit)."""
    if limit is None:
        return PAGE.replace("VARIABLES", "($limit: Int!)").replace("LIMIT", "$limit")
    return PAGE.replace("VARIABLES", "").replace("LIMIT", str(limit))


class FakeBoard:
    """community-service's and user-service's read routes, with ``posts`` posts."""

    def __init__(self) -> None:
        self.port = free_port()
        self.posts = 3
        self.calls: list[str] = []
        self.identities: list[str | None] = []
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _post(self, post_id: int, detail: bool) -> dict:
        post = {
            "id": post_id,
            "title": f"Post {post_id}",
            "author": {"id": 100 + post_id, "name": f"Author {post_id}"},
            "category": {
                "id": 1,
                "name": "free",
                "display_name": "Free",
                "description": None,
                "is_admin_only": False,
                "order": 0,
                "created_at": "2026-01-01T00:00:00+00:00",
            },
            "is_pinned": False,
            "is_private": False,
            "view_count": 0,
            "comment_count": 1,
            "images": [],
            "created_at": "2026-01-01T00:00:00+00:00",
            "updated_at": None,
        }
        if detail:
            reply = {
                "id": post_id * 10 + 1,
                "post_id": post_id,
                "parent_id": post_id * 10,
                "content": f"reply {post_id}",
                "content_html": f"reply {post_id}",
                "is_private": False,
                "author": {"id": 7, "name": "Replier"},
                "created_at": "2026-01-01T00:00:00+00:00",
                "updated_at": None,
                "replies": [],
            }
            comment = {**reply, "id": post_id * 10, "parent_id": None, "replies": [reply]}
            comment["content"] = comment["content_html"] = f"comment {post_id}"
            post.update(
                content=f"content {post_id}",
                content_html=f"content {post_id}",
                category_id=1,
                comments=[comment],
            )
        return post

    async def _record(self, request: web.Request) -> None:
        self.calls.append(f"{request.method} {request.path}")
        self.identities.append(request.headers.get(IDENTITY_HEADER))

    async def list_posts(self, request: web.Request) -> web.Response:
        await self._record(request)
        limit = int(request.query.get("limit", "20"))
        listed = [self._post(i, False) for i in range(1, min(limit, self.posts) + 1)]
        return web.json_response(listed, headers={"X-Total-Count": str(self.posts)})

    async def batch(self, request: web.Request) -> web.Response:
        await self._record(request)
        ids = [int(i) for i in request.query.getall("ids")]
        return web.json_response([self._post(i, True) for i in ids if i <= self.posts])

    async def me(self, request: web.Request) -> web.Response:
        await self._record(request)
        if request.headers.get(IDENTITY_HEADER) is None:
            return web.json_response(
                {"status": 401, "detail": "Authentication required."}, status=401
            )
        return web.json_response(
            {
                "id": 1,
                "clerk_user_id": "someone",
                "email": None,
                "name": "Someone",
                "role": "user",
                "created_at": "2026-01-01T00:00:00+00:00",
                "updated_at": None,
            }
        )

    async def broken(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.Response(text="not json at all", content_type="application/json")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/readyz", lambda _: web.json_response({"status": "ready"}))
        app.router.add_get("/api/v1/community/posts", self.list_posts)
        app.router.add_get("/api/v1/community/posts/batch", self.batch)
        app.router.add_get("/api/v1/community/categories", self.broken)
        app.router.add_get("/api/v1/users/me", self.me)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture(scope="module")
async def board() -> AsyncIterator[FakeBoard]:
    fake = FakeBoard()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="module")
async def graph_gateway(
    backends: Backends, board: FakeBoard, keys: Keys, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[GatewayProcess]:
    env = backends.gateway_env(
        keys,
        FOLIO_UPSTREAM_COMMUNITY_URL=board.url,
        FOLIO_UPSTREAM_USERS_URL=board.url,
        FOLIO_GRAPHQL_MAX_DEPTH="8",
        FOLIO_GRAPHQL_MAX_ALIASES="5",
        FOLIO_GRAPHQL_MAX_COST="3000",
    )
    process = await GatewayProcess(env).start(tmp_path_factory.mktemp("graphql"))
    yield process
    process.stop()


@pytest.fixture
async def graph(graph_gateway: GatewayProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=graph_gateway.url, timeout=15) as http:
        yield http


async def ask(client: httpx.AsyncClient, query: str, headers=None, **variables) -> dict:  # type: ignore[no-untyped-def]
    response = await client.post(
        "/api/v1/graphql", json={"query": query, "variables": variables}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


@pytest.mark.parametrize("posts", [3, 40])
async def test_a_page_of_posts_with_authors_and_comments_costs_two_calls(graph, board, posts):
    board.posts = posts
    board.calls.clear()
    answer = await ask(graph, page_query(posts))
    assert "errors" not in answer, answer
    items = answer["data"]["posts"]["items"]
    assert [p["id"] for p in items] == list(range(1, posts + 1))
    assert items[-1]["author"] == {"id": 100 + posts, "name": f"Author {posts}"}
    assert items[-1]["content"] == f"content {posts}"
    assert items[-1]["comments"][0]["replies"][0]["content"] == f"reply {posts}"
    # One call for the page, one for every post's content and comments: never N + 1.
    assert board.calls == ["GET /api/v1/community/posts", "GET /api/v1/community/posts/batch"]
    assert answer["extensions"]["upstreamCalls"] == 2


async def test_the_caller_s_identity_reaches_the_services_and_anonymous_stays_anonymous(
    graph, board, keys
):
    board.identities.clear()
    board.calls.clear()
    token = keys.token("graph_user", name="Graph User")
    answer = await ask(graph, "{ me { name } }", headers=bearer(token))
    assert answer["data"]["me"] == {"name": "Someone"}
    verifier = InternalTokenVerifier(keys.internal_public, "folio-gateway", "folio-internal")
    assert verifier.verify(board.identities[-1]).user_id == "graph_user"

    anonymous = await ask(graph, page_query(2))
    assert anonymous["data"]["posts"]["items"]
    assert board.identities[-2:] == [None, None]
    # Signed out there is no "me", and user-service is not even asked.
    calls = len(board.calls)
    assert (await ask(graph, "{ me { name } }"))["data"] == {"me": None}
    assert len(board.calls) == calls


async def test_a_forged_identity_header_never_reaches_a_service(graph, board):
    board.identities.clear()
    forged = {IDENTITY_HEADER: "forged", "x-user-id": "admin"}
    await ask(graph, page_query(1), headers=forged)
    assert board.identities == [None, None]


DEEP = (
    '{ posts(category: "free", limit: 1) { items { comments { '
    + "replies { " * 8
    + "id"
    + " }" * 8
    + " } } } }"
)
WIDE = (
    "{ " + " ".join(f'p{i}: posts(category: "free", limit: 1) {{ total }}' for i in range(8)) + " }"
)
COSTLY = (
    '{ posts(category: "free", limit: 100) { items { comments { replies { author { name } } } } } }'
)


@pytest.mark.parametrize(
    ("query", "says"),
    [
        (DEEP, "exceeds maximum operation depth of 8"),
        (WIDE, "8 aliases found. Allowed: 5"),
        (COSTLY, "more than the 3000 allowed"),
        ("{ " + "categories { id } " * 3000 + "}", "more than 2000 tokens"),
    ],
    ids=["deep", "aliased", "costly", "huge"],
)
async def test_abusive_queries_are_refused_before_any_service_is_called(graph, board, query, says):
    board.calls.clear()
    response = await graph.post("/api/v1/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("data") is None
    assert any(says in error["message"] for error in body["errors"]), body["errors"]
    assert board.calls == []


async def test_the_cost_limit_counts_variables_at_their_largest(graph, board):
    board.calls.clear()
    body = await ask(graph, page_query(None), limit=1)
    # The limit is a variable: the estimate takes the largest page (100 posts).
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY", body
    assert board.calls == []


async def test_a_service_s_failure_is_a_graphql_error_not_a_500(graph, board):
    body = await ask(graph, '{ categories { id } posts(category: "free", limit: 1) { total } }')
    assert body["data"]["categories"] is None
    assert body["data"]["posts"]["total"] == board.posts  # the rest still answers
    assert body["errors"][0]["path"] == ["categories"]
    assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE"


async def test_a_refusal_keeps_the_service_s_words_and_code(graph):
    body = await ask(graph, "{ jobs { id } }")  # the echo service: no such shape
    assert body["data"] == {"jobs": None}
    assert body["errors"][0]["message"] == "Unexpected error."  # a bug is masked


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_responses_carry_the_gateway_s_headers_and_bad_requests_are_4xx(graph):
    response = await graph.get("/api/v1/graphql", params={"query": "{ me { name } }"})
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"me": None}, "extensions": {"upstreamCalls": 0}}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert len(response.headers["x-request-id"]) >= 8
    assert "ratelimit-policy" not in response.headers  # only on refusals
    not_json = await graph.post(
        "/api/v1/graphql", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert 400 <= not_json.status_code < 500
    chunked = await graph.post(
        "/api/v1/graphql",
        content=chunks(b'{"query": "{ me { name } }"', b"}"),
        headers={"content-type": "application/json"},
    )
    assert chunked.status_code == 200 and chunked.json()["data"] == {"me": None}
    too_big = await graph.post(
        "/api/v1/graphql",
        content=chunks(b"x" * (40 * 1024), b"x" * (40 * 1024)),
        headers={"content-type": "application/json"},
    )
    assert too_big.status_code == 413


async def test_introspection_is_on_in_development(graph):
    body = await ask(graph, "{ __schema { queryType { name } } }")
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_ids_are_64_bit(graph, board):
    board.posts = 3
    big = await ask(graph, "{ post(id: 9007199254740991) { id } }")
    assert big == {"data": {"post": None}, "extensions": {"upstreamCalls": 1}}
    found = await ask(graph, "query($id: Long!) { post(id: $id) { id title } }", id=2)
    assert found["data"]["post"] == {"id": 2, "title": "Post 2"}
    for wrong in ("true", '"2"', str(2**64)):
        refused = await ask(graph, f"{{ post(id: {wrong}) {{ id }} }}")
        assert refused.get("data") is None and refused["errors"], refused
