from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict

from folio_users.models import UserBase


class UserPublic(UserBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    clerk_user_id: str
    created_at: datetime
    updated_at: datetime
