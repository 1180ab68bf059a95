"""What job handling needs besides the session (built once per process)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from folio.credentials import CredentialSealer
from folio.messaging import Outbox
from folio.storage import BlobStorage

if TYPE_CHECKING:
    from folio_translation.service.credentials import CredentialChecker


@dataclass(frozen=True)
class JobDeps:
    outbox: Outbox
    storage: BlobStorage
    sealer: CredentialSealer | None
    default_model: str
    dispatch_window: int = 16
    # Tokens per user and day on the deployment's own key (None: no allowance).
    daily_tokens: int | None = None
    # Checks a user's own provider (URLs and a live call) before a job is accepted.
    checker: CredentialChecker | None = None
