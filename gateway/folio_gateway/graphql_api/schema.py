"""The read-only GraphQL schema and the limits every document is checked against."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.types import ExecutionContext

from folio_gateway.graphql_api import board as board_api
from folio_gateway.graphql_api import jobs as jobs_api
from folio_gateway.graphql_api import users as users_api
from folio_gateway.graphql_api.limits import cost_limit

log = logging.getLogger(__name__)


@strawberry.type(description="Folio's read API: what the REST routes show you, in one query.")
class Query:
    me: users_api.User | None = strawberry.field(
        resolver=users_api.me, description="You; null when signed out."
    )
    jobs: list[jobs_api.Job] | None = strawberry.field(
        resolver=jobs_api.jobs, description="Your jobs, newest first (signed in)."
    )
    job: jobs_api.Job | None = strawberry.field(
        resolver=jobs_api.job, description="One job: yours in full; signed out, its status only."
    )
    categories: list[board_api.Category] | None = strawberry.field(
        resolver=board_api.categories, description="The board's categories."
    )
    category: board_api.Category | None = strawberry.field(resolver=board_api.category)
    posts: board_api.PostPage | None = strawberry.field(
        resolver=board_api.posts,
        description="A category's posts you may see (pinned first, newest first).",
    )
    post: board_api.Post | None = strawberry.field(
        resolver=board_api.post, description="A post; null when it does not exist or is not yours."
    )
    announcements: list[users_api.Announcement] | None = strawberry.field(
        resolver=users_api.announcements
    )


@dataclass(frozen=True)
class Limits:
    max_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 2000
    max_cost: int = 5000
    introspection: bool = True


class UpstreamCallsReport(SchemaExtension):
    """``extensions.upstreamCalls``: how many service calls the answer took."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        services = getattr(context, "services", None)
        return {"upstreamCalls": services.calls} if services is not None else {}


def _unexpected(error: GraphQLError) -> bool:
    """Errors the caller caused, or a service's refusals, are shown; anything else is a
    bug and is masked (and logged)."""
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


class FolioSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if _unexpected(error):
                log.error("GraphQL resolver failed", exc_info=error.original_error)


def build_schema(limits: Limits) -> strawberry.Schema:
    extensions: list[Any] = [
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        partial(QueryDepthLimiter, max_depth=limits.max_depth),
        partial(MaxAliasesLimiter, max_alias_count=limits.max_aliases),
        partial(AddValidationRules, [cost_limit(limits.max_cost)]),
        partial(MaskErrors, should_mask_error=_unexpected),
        UpstreamCallsReport,
    ]
    if not limits.introspection:
        extensions.append(DisableIntrospection)
    return FolioSchema(query=Query, extensions=extensions)
