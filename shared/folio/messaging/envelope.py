"""The envelope every message travels in.

The body is the whole envelope (id, type, time, producer, correlation id, data), so a
message read from a dead-letter queue explains itself. The same fields are mirrored in
the AMQP properties (``message_id``, ``type``, ``timestamp``, ``correlation_id``), and
the W3C trace context travels in the AMQP headers.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from folio.contracts.base import Message, message_class


class UnknownMessageType(Exception):
    pass


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    message_id: uuid.UUID
    type: str
    occurred_at: datetime
    producer: str
    correlation_id: str | None = None
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        message: Message,
        *,
        producer: str,
        correlation_id: str | None = None,
        message_id: uuid.UUID | None = None,
    ) -> Envelope:
        return cls(
            message_id=message_id or uuid.uuid4(),
            type=message.TYPE,
            occurred_at=datetime.now(UTC),
            producer=producer,
            correlation_id=correlation_id,
            data=message.model_dump(mode="json"),
        )

    def open(self) -> Message:
        """The typed message inside, validated against its contract."""
        cls = message_class(self.type)
        if cls is None:
            raise UnknownMessageType(self.type)
        return cls.model_validate(self.data)


def derived_message_id(cause: uuid.UUID, purpose: str) -> uuid.UUID:
    """A message id fixed by its cause, so redoing the same work yields the same id.

    A worker that is redelivered a command and publishes its result again produces the
    same message id, which the consumer's inbox then recognises as a duplicate.
    """
    return uuid.uuid5(cause, purpose)
