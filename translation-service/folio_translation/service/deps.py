"""What job handling needs besides the session (built once per process)."""

from __future__ import annotations

from dataclasses import dataclass

from folio.credentials import CredentialSealer
from folio.messaging import Outbox
from folio.storage import BlobStorage


@dataclass(frozen=True)
class JobDeps:
    outbox: Outbox
    storage: BlobStorage
    sealer: CredentialSealer | None
    default_model: str
    dispatch_window: int = 16
