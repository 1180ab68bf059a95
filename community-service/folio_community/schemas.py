from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict

from folio_community.models import CategoryBase


class CategoryPublic(CategoryBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
