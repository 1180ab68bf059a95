"""Helpers for the community and user end-to-end tests: callers with tokens, the board."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Caller:
    """Someone calling through the gateway; ``token`` None is an anonymous visitor."""

    gateway: httpx.AsyncClient
    token: str | None
    label: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def request(self, method: str, path: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.gateway.request(method, f"/api/v1{path}", headers=headers, **kwargs)

    async def get(self, path: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
        return await self.request("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
        return await self.request("DELETE", path, **kwargs)

    async def me(self) -> dict:
        response = await self.get("/users/me")
        assert response.status_code == 200, response.text
        return response.json()


def caller(gateway, dev_token, label: str, role: str | None = "user") -> Caller:  # type: ignore[no-untyped-def]
    user_id = unique(label)
    return Caller(gateway, dev_token(user_id, role=role, name=label.title()), label)


async def new_category(admin: Caller, **fields) -> dict:  # type: ignore[no-untyped-def]
    name = unique("board")
    body = {"name": name, "display_name": f"Board {name}", **fields}
    response = await admin.post("/community/categories", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def new_post(author: Caller, category_id: int, **fields) -> dict:  # type: ignore[no-untyped-def]
    body = {"title": "A title", "content": "Some content", "category_id": category_id, **fields}
    response = await author.post("/community/posts", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def new_comment(author: Caller, post_id: int, content: str, **fields) -> dict:  # type: ignore[no-untyped-def]
    body = {"content": content, "post_id": post_id, **fields}
    response = await author.post(f"/community/posts/{post_id}/comments", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def flatten(tree: list[dict]) -> list[dict]:
    out = []
    for node in tree:
        out.append(node)
        out.extend(flatten(node.get("replies", [])))
    return out
