"""DataLoaders of one GraphQL request: every upstream read goes through one of them.

Loaders collect the keys a query asks for in one tick and fetch them together, and
remember what they fetched for the rest of the request: a page of posts with their
content and comments costs one call for the page and one for all of their details,
whatever the number of posts, and the same job or user asked twice is fetched once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader

from folio_gateway.graphql_api.services import ServiceCalls, ServiceError
from folio_gateway.routes import COMMUNITY, TRANSLATION, USERS

BATCH_MAX = 100  # what community-service's batch read accepts
SegmentsKey = tuple[int, int, int]  # job id, offset, limit


def _each(
    fetch: Callable[[Any], Awaitable[Any]],
) -> Callable[[Sequence[Any]], Awaitable[list[Any]]]:
    """A batch function for services without a batch read: the keys concurrently, each
    one's error kept for that key alone."""

    async def load(keys: Sequence[Any]) -> list[Any]:
        results = await asyncio.gather(*(fetch(key) for key in keys), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, ServiceError):
                raise result
        return list(results)

    return load


@dataclass
class Loaders:
    post_details: DataLoader[int, dict[str, Any] | None]
    jobs: DataLoader[int, dict[str, Any]]
    segments: DataLoader[SegmentsKey, dict[str, Any]]
    tasks: DataLoader[int, list[dict[str, Any]]]
    me: DataLoader[str, dict[str, Any]]
    token_usage: DataLoader[str, dict[str, Any]]


def loaders_for(services: ServiceCalls) -> Loaders:
    async def post_details(ids: Sequence[int]) -> list[dict[str, Any] | None]:
        # Only the posts the caller may see come back; the others resolve to null.
        found = {
            post["id"]: post
            for post in await services.get_json(
                COMMUNITY, "/api/v1/community/posts/batch", {"ids": list(ids)}
            )
        }
        return [found.get(post_id) for post_id in ids]

    async def job(job_id: int) -> dict[str, Any]:
        return await services.get_json(TRANSLATION, f"/api/v1/jobs/{job_id}")

    async def segments(key: SegmentsKey) -> dict[str, Any]:
        job_id, offset, limit = key
        return await services.get_json(
            TRANSLATION, f"/api/v1/jobs/{job_id}/segments", {"offset": offset, "limit": limit}
        )

    async def tasks(job_id: int) -> list[dict[str, Any]]:
        return await services.get_json(TRANSLATION, f"/api/v1/tasks/job/{job_id}/tasks")

    async def me(_: str) -> dict[str, Any]:
        return await services.get_json(USERS, "/api/v1/users/me")

    async def token_usage(_: str) -> dict[str, Any]:
        return await services.get_json(USERS, "/api/v1/users/me/token-usage")

    return Loaders(
        post_details=DataLoader(post_details, max_batch_size=BATCH_MAX),
        jobs=DataLoader(_each(job)),
        segments=DataLoader(_each(segments)),
        tasks=DataLoader(_each(tasks)),
        me=DataLoader(_each(me)),
        token_usage=DataLoader(_each(token_usage)),
    )
