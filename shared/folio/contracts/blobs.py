"""Documents one service writes to blob storage for another (or another replica) to read.

A blob outlives the process that wrote it and may be read by a newer or older version of
its reader, so it carries the name and version of its contract (``contract``) and is
validated when read. A breaking change is a new contract name (``.v2``), like messages.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator


class BlobContractError(ValueError):
    """The blob is not a valid document of the expected contract (or version)."""


class BlobContract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    CONTRACT: ClassVar[str]  # e.g. "translation.plan.v1"

    contract: str = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("CONTRACT")
        if name is not None and not name.rsplit(".", 1)[-1].startswith("v"):
            raise TypeError(f"{cls.__name__}.CONTRACT must end with a version, e.g. '.v1'")

    @model_validator(mode="before")
    @classmethod
    def _named(cls, data: Any) -> Any:
        if isinstance(data, dict):
            found = data.get("contract") or cls.CONTRACT
            if found != cls.CONTRACT:
                raise ValueError(f"expected a {cls.CONTRACT} document, found {found}")
            data = {**data, "contract": cls.CONTRACT}
        return data

    def dump(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def load(cls, data: bytes) -> Self:
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise BlobContractError(f"not a valid {cls.CONTRACT} document: {exc}") from exc
