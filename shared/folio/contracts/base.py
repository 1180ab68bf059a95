"""The message base classes and the registry of every message type.

Events are facts, named in the past tense (``translation.job.planned.v1``); commands ask
one consumer to do something (``translation.plan_job.v1``). Both are small immutable
pydantic records. A breaking change is a new class with the next version suffix; the
old one stays until nobody sends it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

EVENTS_EXCHANGE = "folio.events"
WORK_EXCHANGE = "folio.work"
DEAD_LETTER_EXCHANGE = "folio.dlx"

_REGISTRY: dict[str, type[Message]] = {}


class Message(BaseModel):
    # Consumers ignore fields they do not know yet: producers may add optional fields
    # without a new version.
    model_config = ConfigDict(frozen=True, extra="ignore")

    TYPE: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        type_name = cls.__dict__.get("TYPE")
        if type_name is None:
            return  # an abstract intermediate class
        if not type_name.rsplit(".", 1)[-1].startswith("v"):
            raise TypeError(f"{cls.__name__}.TYPE must end with a version, e.g. '.v1'")
        if type_name in _REGISTRY and _REGISTRY[type_name] is not cls:
            raise TypeError(f"message type {type_name!r} is defined twice")
        _REGISTRY[type_name] = cls

    @classmethod
    def exchange(cls) -> str:
        raise NotImplementedError

    @classmethod
    def routing_key(cls) -> str:
        raise NotImplementedError


class Event(Message):
    """A fact that happened. Routed on the topic exchange by its type."""

    @classmethod
    def exchange(cls) -> str:
        return EVENTS_EXCHANGE

    @classmethod
    def routing_key(cls) -> str:
        return cls.TYPE


class Command(Message):
    """A request for work, delivered to exactly one queue on the direct work exchange."""

    QUEUE: ClassVar[str]

    @classmethod
    def exchange(cls) -> str:
        return WORK_EXCHANGE

    @classmethod
    def routing_key(cls) -> str:
        return cls.QUEUE


class Request(Command):
    """A command whose sender waits for the answer (see :mod:`folio.messaging.rpc`).

    ``reply_to`` names the sender's own reply queue; after ``deadline`` nobody waits any
    more, so a request still queued then is dropped unanswered."""

    reply_to: str = ""
    deadline: datetime | None = None


class Reply(Message):
    """The answer to a :class:`Request`, sent to its ``reply_to`` queue only."""

    @classmethod
    def exchange(cls) -> str:
        return ""  # the default exchange: routed by queue name


def message_class(type_name: str) -> type[Message] | None:
    return _REGISTRY.get(type_name)


def all_message_classes() -> dict[str, type[Message]]:
    return dict(_REGISTRY)
