"""API shapes of user-service (the upstream's field names)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, computed_field

from folio.html import render_html
from folio.identity import Role
from folio.timestamps import Timestamp
from folio_users.models import UserBase


class UserPublic(UserBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    clerk_user_id: str
    created_at: Timestamp
    updated_at: Timestamp | None = None


class RoleChange(BaseModel):
    role: Role


class TokenUsageTotals(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


class ModelTokenUsage(TokenUsageTotals):
    model: str


class IllustrationUsageTotals(TokenUsageTotals):
    image_count: int = 0
    per_model: list[ModelTokenUsage] = Field(default_factory=list)


class TokenUsageDashboard(BaseModel):
    total: TokenUsageTotals
    per_model: list[ModelTokenUsage]
    illustrations: IllustrationUsageTotals
    last_updated: Timestamp | None = None


class AnnouncementCreate(BaseModel):
    message: str = Field(min_length=1, max_length=5000)
    is_active: bool = True


class AnnouncementPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    message: str
    is_active: bool
    created_at: Timestamp

    @computed_field  # type: ignore[prop-decorator]
    @property
    def message_html(self) -> str:
        """The message as sanitised HTML (``folio.html``); ``message`` is as written."""
        return render_html(self.message)
