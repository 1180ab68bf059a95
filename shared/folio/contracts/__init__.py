"""Versioned message contracts: the single source of truth for every message on the bus."""

from folio.contracts.base import (
    DEAD_LETTER_EXCHANGE,
    EVENTS_EXCHANGE,
    WORK_EXCHANGE,
    Command,
    Event,
    Message,
    all_message_classes,
    message_class,
)
from folio.contracts.common import TokenUsage
from folio.contracts.translation import (
    JobPlanned,
    JobPlanningFailed,
    PlanJob,
    PlannedSegment,
    SegmentTranslated,
    SegmentTranslationFailed,
    TranslateSegment,
)
from folio.contracts.users import UserCreated, UserDeleted, UserUpdated

__all__ = [
    "DEAD_LETTER_EXCHANGE",
    "EVENTS_EXCHANGE",
    "WORK_EXCHANGE",
    "Command",
    "Event",
    "JobPlanned",
    "JobPlanningFailed",
    "Message",
    "PlanJob",
    "PlannedSegment",
    "SegmentTranslated",
    "SegmentTranslationFailed",
    "TokenUsage",
    "TranslateSegment",
    "UserCreated",
    "UserDeleted",
    "UserUpdated",
    "all_message_classes",
    "message_class",
]
