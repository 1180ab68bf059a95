"""Timestamps in API responses: ISO 8601 with an explicit offset, always UTC.

A naive value (which PostgreSQL ``timestamptz`` never gives, but code might) is taken as
UTC. Clients convert to their reader's zone; the server assumes none.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


Timestamp = Annotated[
    datetime,
    AfterValidator(as_utc),
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
]
