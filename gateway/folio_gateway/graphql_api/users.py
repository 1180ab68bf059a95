"""The signed-in user, their token-usage dashboard, and announcements (user-service)."""

from __future__ import annotations

from typing import Any

import strawberry

from folio_gateway.graphql_api.context import Info, Long, build
from folio_gateway.routes import USERS


@strawberry.type
class TokenTotals:
    input_tokens: Long
    output_tokens: Long
    total_tokens: Long


@strawberry.type
class ModelTokens:
    model: str
    input_tokens: Long
    output_tokens: Long
    total_tokens: Long


@strawberry.type
class IllustrationTokens:
    input_tokens: Long
    output_tokens: Long
    total_tokens: Long
    image_count: int
    per_model: list[ModelTokens]


@strawberry.type(description="Tokens your jobs used, in total and per model.")
class TokenUsage:
    total: TokenTotals
    per_model: list[ModelTokens]
    illustrations: IllustrationTokens
    last_updated: str | None

    @classmethod
    def of(cls, data: dict[str, Any]) -> TokenUsage:
        drawn = data["illustrations"]
        return build(
            cls,
            data,
            total=build(TokenTotals, data["total"]),
            per_model=[build(ModelTokens, m) for m in data["per_model"]],
            illustrations=build(
                IllustrationTokens,
                drawn,
                per_model=[build(ModelTokens, m) for m in drawn.get("per_model") or []],
            ),
        )


@strawberry.type(description="The signed-in user.")
class User:
    id: Long
    clerk_user_id: str
    email: str | None
    name: str | None
    role: str
    created_at: str
    updated_at: str | None

    @strawberry.field(description="Tokens your jobs used (the dashboard).")
    async def token_usage(self, info: Info) -> TokenUsage:
        return TokenUsage.of(await info.context.loaders.token_usage.load("me"))


@strawberry.type(description="An announcement from the operators.")
class Announcement:
    id: Long
    message: str
    message_html: str
    is_active: bool
    created_at: str


async def me(info: Info) -> User | None:
    """Null when signed out (no call is made for an anonymous caller)."""
    if not info.context.services.signed_in:
        return None
    return build(User, await info.context.loaders.me.load("me"))


async def announcements(
    info: Info, active_only: bool = True, limit: int = 10
) -> list[Announcement]:
    listed = await info.context.services.get_json(
        USERS, "/api/v1/community/announcements", {"active_only": active_only, "limit": limit}
    )
    return [build(Announcement, a) for a in listed]
