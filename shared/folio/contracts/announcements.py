"""Messages about site announcements, published by user-service.

They carry no text: a consumer that needs the announcements re-reads them (the live
stream does, once per replica), so a late or reordered event can never show an old state.
"""

from __future__ import annotations

from typing import ClassVar

from folio.contracts.base import Event


class _AnnouncementChange(Event):
    announcement_id: int


class AnnouncementCreated(_AnnouncementChange):
    TYPE: ClassVar[str] = "users.announcement.created.v1"

    is_active: bool


class AnnouncementUpdated(_AnnouncementChange):
    TYPE: ClassVar[str] = "users.announcement.updated.v1"

    is_active: bool


class AnnouncementDeleted(_AnnouncementChange):
    TYPE: ClassVar[str] = "users.announcement.deleted.v1"


ANNOUNCEMENT_EVENTS: tuple[type[Event], ...] = (
    AnnouncementCreated,
    AnnouncementUpdated,
    AnnouncementDeleted,
)
# Every announcement event starts with this: the pattern a live-stream queue binds.
ANNOUNCEMENT_EVENTS_PATTERN = "users.announcement.#"
